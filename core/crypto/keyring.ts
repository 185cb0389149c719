// A peer's keys for the clusters and topics it uses, by name. Derivation (one HKDF and one Ed25519 key
// pair per service) happens once per name and kind.

import { KeyError } from "../errors.ts";
import { deriveServiceKeys, insecureDevelopmentKey, parseKey } from "./keys.ts";
import type { ServiceKeys, ServiceKind } from "./keys.ts";

export type KeyInput = string | Uint8Array;

export class Keyring {
  private readonly keys = new Map<string, Uint8Array>();
  private readonly derived = new Map<string, ServiceKeys>();

  /**
   * @param development derive a key from the name for any service without one. Anyone can compute
   *   such keys: development mode gives no secrecy and no access control.
   */
  constructor(
    keys: Record<string, KeyInput> = {},
    readonly development = false,
  ) {
    for (const [name, key] of Object.entries(keys)) this.set(name, key);
  }

  set(name: string, key: KeyInput): void {
    const bytes = typeof key === "string" ? parseKey(key, `key for "${name}"`) : key;
    if (bytes.length !== 32) throw new KeyError(`key for "${name}" must be 32 bytes`);
    this.keys.set(name, bytes);
    this.derived.delete(`cluster:${name}`);
    this.derived.delete(`topic:${name}`);
  }

  has(name: string): boolean {
    return this.keys.has(name) || this.development;
  }

  /** Keys for a cluster or topic; KeyError when no key is configured and development mode is off. */
  get(kind: ServiceKind, name: string): ServiceKeys {
    const cacheKey = `${kind}:${name}`;
    let keys = this.derived.get(cacheKey);
    if (keys) return keys;
    if (typeof name !== "string" || name.length === 0) throw new KeyError(`${kind} name must be a non-empty string`);
    let key = this.keys.get(name);
    if (!key) {
      if (!this.development) throw new KeyError(`no key for ${kind} "${name}"`);
      key = insecureDevelopmentKey(name);
    }
    keys = deriveServiceKeys(kind, name, key);
    this.derived.set(cacheKey, keys);
    return keys;
  }
}
