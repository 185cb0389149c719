// Relays report clusters and topics by id: a hash of the kind, the name and the key's public half, so
// a relay never learns names. The page knows names (the ones it uses) and keys (its own), so it computes
// the ids it can and names those; any other id stays "unnamed" with a short hash, which is the point.
// Some names are the page's own plumbing (each tab's link cluster, see direct-linker.ts): their ids
// are known so they can be left out of what people read.

import { toHex } from "../../core/util/bytes.ts";
import { deriveServiceKeys, insecureDevelopmentKey, parseKey } from "../../core/crypto/keys.ts";
import type { ServiceKind } from "../../core/crypto/keys.ts";
import type { Connection } from "../../core/browser.ts";
import { short } from "./dom.ts";
import { portableCrypto } from "../../core/crypto/nacl.ts";

export interface ServiceName {
  kind: ServiceKind;
  name: string;
  /** Derived from the name (development mode): anyone can compute it. */
  development: boolean;
  /** The page's own plumbing, not something a person made. */
  internal: boolean;
}

/** The demo's services: named even in private mode, where they are someone else's (insecure) ones. */
const DEMO_NAMES = ["echo", "ticks", "files"];

export class Names {
  private readonly byId = new Map<string, ServiceName>();
  private readonly known = new Set<string>();

  constructor(private readonly conn: Connection) {
    for (const name of DEMO_NAMES) this.learn(name);
  }

  /** Learns the ids of `name` as a cluster and as a topic, under this tab's keys and the development key. */
  learn(name: string, internal = false): void {
    if (name.length === 0) return;
    const again = this.known.has(name);
    this.known.add(name);
    for (const kind of ["cluster", "topic"] as const) {
      if (!again) {
        const development = deriveServiceKeys(portableCrypto.signing, kind, name, insecureDevelopmentKey(name));
        this.byId.set(toHex(development.id), { kind, name, development: true, internal });
      }
      // A key generated later for a name known already gets its id learned too.
      try {
        for (const keys of this.conn.keyring.all(kind, name)) {
          const id = toHex(keys.id);
          const known = this.byId.get(id);
          if (!known || known.development)
            this.byId.set(id, { kind, name, development: this.isDevelopmentId(kind, name, id), internal });
        }
      } catch {
        // No key for this name in the link: only its development id can be named.
      }
    }
  }

  /** Learns the ids of the page's own plumbing `name` under each of `keys` (and the development key). */
  learnInternal(name: string, keys: readonly string[]): void {
    this.learn(name, true);
    for (const key of keys) {
      // Deriving costs a key pair per kind: once per name and key is enough.
      if (this.known.has(`${name}\n${key}`)) continue;
      this.known.add(`${name}\n${key}`);
      for (const kind of ["cluster", "topic"] as const) {
        const id = toHex(deriveServiceKeys(portableCrypto.signing, kind, name, parseKey(key, "key")).id);
        this.byId.set(id, { kind, name, development: false, internal: true });
      }
    }
  }

  lookup(id: string): ServiceName | null {
    return this.byId.get(id) ?? null;
  }

  /** The page's own plumbing: not shown. */
  hidden(id: string): boolean {
    return this.byId.get(id)?.internal ?? false;
  }

  /** "echo"; "echo (development key)" when this tab itself uses another key for it; else "unnamed 1a2b3c…". */
  label(id: string): string {
    const found = this.byId.get(id);
    if (!found) return `unnamed ${short(id)}…`;
    return found.development && this.usesOwnKey(found.kind, found.name)
      ? `${found.name} (development key)`
      : found.name;
  }

  /** Whether this tab sends to `name` with a key of its own rather than the development key. */
  private usesOwnKey(kind: ServiceKind, name: string): boolean {
    try {
      return !this.isDevelopmentId(kind, name, toHex(this.conn.keyring.get(kind, name).id));
    } catch {
      return true; // no key at all: private mode, and the development id is somebody else's
    }
  }

  private isDevelopmentId(kind: ServiceKind, name: string, id: string): boolean {
    return toHex(deriveServiceKeys(portableCrypto.signing, kind, name, insecureDevelopmentKey(name)).id) === id;
  }
}
