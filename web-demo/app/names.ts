// Relays report clusters and topics by id: a hash of the kind, the name and the key's public half, so
// a relay never learns names. The page knows names (the ones it uses) and keys (its own), so it computes
// the ids it can and labels those; any other id stays a short hash, which is the point.

import { toHex } from "../../core/util/bytes.ts";
import { deriveServiceKeys, insecureDevelopmentKey } from "../../core/crypto/keys.ts";
import type { ServiceKind } from "../../core/crypto/keys.ts";
import type { Connection } from "../../core/browser.ts";
import { short } from "./dom.ts";
import { portableCrypto } from "../../core/crypto/nacl.ts";

export interface ServiceName {
  kind: ServiceKind;
  name: string;
  /** Derived from the name (development mode): anyone can compute it. */
  development: boolean;
}

/** The demo's services: labelled even in private mode, where they are someone else's (insecure) ones. */
const DEMO_NAMES = ["echo", "ticks", "files"];

export class Names {
  private readonly byId = new Map<string, ServiceName>();
  private readonly known = new Set<string>();

  constructor(private readonly conn: Connection) {
    for (const name of DEMO_NAMES) this.learn(name);
  }

  /** Learns the ids of `name` as a cluster and as a topic, under this tab's key and the development key. */
  learn(name: string): void {
    if (this.known.has(name) || name.length === 0) return;
    this.known.add(name);
    for (const kind of ["cluster", "topic"] as const) {
      const development = deriveServiceKeys(portableCrypto.signing, kind, name, insecureDevelopmentKey(name));
      this.byId.set(toHex(development.id), { kind, name, development: true });
      // In development mode the tab's own id is the development id; in private mode it is its key's.
      if (this.conn.keyring.development) continue;
      try {
        this.byId.set(toHex(this.conn.keyring.get(kind, name).id), { kind, name, development: false });
      } catch {
        // No key for this name in the link: only its development id can be labelled.
      }
    }
  }

  lookup(id: string): ServiceName | null {
    return this.byId.get(id) ?? null;
  }

  /** "echo", "echo (dev key)" when this tab uses private keys, or "cluster 1a2b3c" for an unknown id. */
  label(id: string, kind: ServiceKind): string {
    const found = this.byId.get(id);
    if (!found) return `${kind} ${short(id)}…`;
    return found.development && !this.conn.keyring.development ? `${found.name} (dev key)` : found.name;
  }
}
