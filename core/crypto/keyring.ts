// A peer's keys for the clusters and topics it uses, by name. Derivation (one HKDF and one Ed25519 key
// pair per service) happens once per name, kind and key.
//
// A name has one current key, which everything this peer sends uses, and while a key is being rolled
// over it may have others it still (or already) accepts: a member serves the cluster under each of
// them. See Connection.addKey, useKey and retireKey.

import { toHex } from "../util/bytes.ts";
import { KeyError } from "../errors.ts";
import { deriveServiceKeys, insecureDevelopmentKey, parseKey } from "./keys.ts";
import type { ServiceKeys, ServiceKind } from "./keys.ts";
import type { SigningBackend } from "./nacl.ts";

/**
 * A 32-byte cluster or topic key: base64url text, as {@link generateKey} makes it, or the bytes.
 *
 * @example
 * ```ts
 * const keys: Record<string, KeyInput> = { db: process.env.DB_KEY!, news: crypto.getRandomValues(new Uint8Array(32)) };
 * ```
 */
export type KeyInput = string | Uint8Array;

export class Keyring {
  private readonly current = new Map<string, Uint8Array>();
  /** Keys accepted besides the current one, per name. */
  private readonly accepted = new Map<string, Uint8Array[]>();
  /** Derived keys by key (the array held for it), then by kind and name; a retired key's go with it. */
  private readonly derived = new WeakMap<Uint8Array, Map<string, ServiceKeys>>();
  private readonly developmentKeys = new Map<string, Uint8Array>();

  /**
   * @param development derive a key from the name for any service without one. Anyone can compute
   *   such keys: development mode gives no secrecy and no access control.
   */
  constructor(
    private readonly signing: SigningBackend,
    keys: Record<string, KeyInput> = {},
    readonly development = false,
  ) {
    for (const [name, key] of Object.entries(keys)) this.set(name, key);
  }

  /** Makes `key` the key this peer uses for `name` (the previous one is no longer accepted). */
  set(name: string, key: KeyInput): void {
    this.current.set(name, this.own(name, key));
  }

  has(name: string): boolean {
    return this.current.has(name) || this.development;
  }

  /** Keys for sending to a cluster or topic; KeyError when none is configured and development mode is off. */
  get(kind: ServiceKind, name: string): ServiceKeys {
    checkName(name, kind);
    let key = this.current.get(name);
    if (!key) {
      if (!this.development) throw new KeyError(`no key for ${kind} "${name}"`);
      key = this.developmentKeys.get(name);
      if (!key) this.developmentKeys.set(name, (key = this.own(name, insecureDevelopmentKey(name))));
    }
    return this.derive(kind, name, key);
  }

  /** Every key a member or subscriber of `name` serves under: the current one and any others accepted. */
  all(kind: ServiceKind, name: string): ServiceKeys[] {
    return [this.get(kind, name), ...(this.accepted.get(name) ?? []).map((key) => this.derive(kind, name, key))];
  }

  /** Accepts `key` for `name` besides the current one. False if it is held already. */
  accept(name: string, key: KeyInput): boolean {
    const bytes = this.own(name, key);
    const held = [this.current.get(name), ...(this.accepted.get(name) ?? [])];
    if (held.some((other) => other !== undefined && sameKey(other, bytes))) return false;
    this.accepted.set(name, [...(this.accepted.get(name) ?? []), bytes]);
    return true;
  }

  /** Sends with `key` from now on; the former current key stays accepted until retired. */
  use(name: string, key: KeyInput): void {
    const bytes = this.own(name, key);
    const previous = this.current.get(name);
    const others = (this.accepted.get(name) ?? []).filter((held) => !sameKey(held, bytes));
    if (previous && !sameKey(previous, bytes)) others.push(previous);
    this.accepted.set(name, others);
    this.current.set(name, bytes);
  }

  /** Stops accepting `key` for `name`. False if it was not accepted. The current key cannot be retired. */
  retire(name: string, key: KeyInput): boolean {
    const bytes = this.own(name, key);
    const current = this.current.get(name);
    if (current && sameKey(current, bytes))
      throw new KeyError(`the current key for "${name}" cannot be retired; use another first`);
    const held = this.accepted.get(name) ?? [];
    const rest = held.filter((other) => !sameKey(other, bytes));
    this.accepted.set(name, rest);
    return rest.length < held.length;
  }

  /** The keys a given key gives for a cluster or topic, held or not. */
  keysFor(kind: ServiceKind, name: string, key: KeyInput): ServiceKeys {
    return this.derive(kind, name, this.own(name, key));
  }

  /**
   * The array held for a key of `name` with these bytes, or a copy of our own: equal keys are then one
   * object, and a caller reusing its array changes nothing here.
   */
  private own(name: string, key: KeyInput): Uint8Array {
    checkName(name, "service");
    const bytes = toKey(name, key);
    for (const held of [this.current.get(name), ...(this.accepted.get(name) ?? [])]) {
      if (held && sameKey(held, bytes)) return held;
    }
    return bytes.slice();
  }

  // Called for every message sent, so the cache is looked up by the key's identity, not its hex.
  private derive(kind: ServiceKind, name: string, key: Uint8Array): ServiceKeys {
    let byName = this.derived.get(key);
    if (!byName) this.derived.set(key, (byName = new Map()));
    const cacheKey = `${kind}:${name}`;
    let keys = byName.get(cacheKey);
    if (!keys) byName.set(cacheKey, (keys = deriveServiceKeys(this.signing, kind, name, key)));
    return keys;
  }
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return toHex(a) === toHex(b);
}

function toKey(name: string, key: KeyInput): Uint8Array {
  const bytes = typeof key === "string" ? parseKey(key, `key for "${name}"`) : key;
  if (bytes.length !== 32) throw new KeyError(`key for "${name}" must be 32 bytes`);
  return bytes;
}

/**
 * A name goes on the wire as UTF-8, where a lone surrogate (half of a UTF-16 pair) becomes U+FFFD: two
 * different names would be one service ("\uD800" and "\uDFFF" would meet). Such names are refused.
 */
function checkName(name: string, kind: ServiceKind | "service"): void {
  if (typeof name !== "string" || name.length === 0) throw new KeyError(`${kind} name must be a non-empty string`);
  const lone = LONE_SURROGATE.exec(name);
  if (lone) {
    throw new KeyError(
      `${kind} name must be well-formed Unicode: it has a lone surrogate (\\u${lone[0].charCodeAt(0).toString(16).toUpperCase()}) at index ${lone.index}`,
    );
  }
}

/** In a /u expression a well-formed surrogate pair is one code point: only lone halves match. */
const LONE_SURROGATE = /\p{Cs}/u;
