// Keys: generation, parsing, and everything derived from a cluster or topic key.
//
// From one 32-byte service key K we derive, with HKDF-SHA512 (RFC 5869) built on nacl's SHA-512:
//   - the payload key that seals messages (secretbox),
//   - the Ed25519 membership key pair whose signature proves to a relay that a peer holds K.
// The id on the wire hashes (kind, name hash, membership public key): two services with one name but
// different keys never meet, and a relay can check a proof against the id without ever learning K.

import { concat, fromBase64Url, randomBytes, toBase64Url, utf8 } from "../util/bytes.ts";
import { KeyError } from "../errors.ts";
import { ID_BYTES, JoinKind, PEER_ID_BYTES } from "../wire/frames.ts";
import { sha512, signDetached, signingKeyPair, verifyDetached } from "./nacl.ts";
import type { SigningBackend, SigningKeyPair } from "./nacl.ts";

export const KEY_BYTES = 32;
const PROTOCOL_LABEL = "iris-mesh/v1";

/**
 * A fresh random cluster or topic key (32 bytes from the platform's CSPRNG), as base64url text for
 * config files, environment variables and URL fragments. Share it with every peer of the service.
 *
 * @example
 * ```ts
 * import { connect, generateKey } from "iris-mesh";
 *
 * const key = generateKey(); // e.g. store it in your secrets manager as DB_KEY
 * const conn = await connect({ relays: ["ws://127.0.0.1:7600"], keys: { db: key } });
 * ```
 */
export function generateKey(): string {
  return toBase64Url(randomBytes(KEY_BYTES));
}

export function parseKey(text: string, what = "key"): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text.trim());
  } catch (error) {
    throw new KeyError(`${what} is not base64url: ${(error as Error).message}`);
  }
  if (bytes.length !== KEY_BYTES) throw new KeyError(`${what} must be ${KEY_BYTES} bytes, got ${bytes.length}`);
  return bytes;
}

/**
 * Development mode only: a key anyone can compute from the service name. It gives no secrecy at all;
 * it exists so a demo works with zero configuration, like Iris's -dev flag.
 */
export function insecureDevelopmentKey(name: string): Uint8Array {
  return sha512(utf8(`${PROTOCOL_LABEL}/INSECURE-development-key/${name}`)).subarray(0, KEY_BYTES);
}

const HASH_BLOCK = 128;

export function hmacSha512(key: Uint8Array, message: Uint8Array): Uint8Array {
  const block = new Uint8Array(HASH_BLOCK);
  block.set(key.length > HASH_BLOCK ? sha512(key) : key);
  const inner = new Uint8Array(HASH_BLOCK);
  const outer = new Uint8Array(HASH_BLOCK);
  for (let i = 0; i < HASH_BLOCK; i++) {
    inner[i] = block[i]! ^ 0x36;
    outer[i] = block[i]! ^ 0x5c;
  }
  return sha512(concat(outer, sha512(concat(inner, message))));
}

/** HKDF-SHA512 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes. */
export function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 255 * 64) throw new RangeError("hkdf: length too large");
  const prk = hmacSha512(salt, ikm);
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let offset = 0, counter = 1; offset < length; counter++) {
    previous = hmacSha512(prk, concat(previous, info, Uint8Array.of(counter)));
    out.set(previous.subarray(0, Math.min(64, length - offset)), offset);
    offset += 64;
  }
  return out;
}

export type ServiceKind = "cluster" | "topic";

export function joinKindOf(kind: ServiceKind): JoinKind {
  return kind === "cluster" ? JoinKind.Member : JoinKind.Subscriber;
}

/** Everything a peer needs to talk to one cluster or topic. Never leaves the peer. */
export interface ServiceKeys {
  readonly kind: ServiceKind;
  readonly name: string;
  readonly nameHash: Uint8Array;
  readonly id: Uint8Array;
  readonly payloadKey: Uint8Array;
  readonly membership: SigningKeyPair;
}

export function hashName(name: string): Uint8Array {
  return sha512(utf8(`${PROTOCOL_LABEL}/name/${name}`)).subarray(0, ID_BYTES);
}

/** The wire id of a service; relays recompute it from a Join's fields to check the proof. */
export function serviceId(kind: JoinKind, nameHash: Uint8Array, membershipPublicKey: Uint8Array): Uint8Array {
  return sha512(concat(utf8(`${PROTOCOL_LABEL}/id`), Uint8Array.of(kind), nameHash, membershipPublicKey)).subarray(
    0,
    ID_BYTES,
  );
}

export function deriveServiceKeys(
  signing: SigningBackend,
  kind: ServiceKind,
  name: string,
  key: Uint8Array,
): ServiceKeys {
  if (key.length !== KEY_BYTES) throw new KeyError(`key for ${kind} "${name}" must be ${KEY_BYTES} bytes`);
  const nameHash = hashName(name);
  const joinKind = joinKindOf(kind);
  // Binding kind and name into every derivation keeps one key reused under two names from giving
  // interchangeable ciphertexts.
  const context = concat(Uint8Array.of(joinKind), nameHash);
  const salt = utf8(`${PROTOCOL_LABEL}/service`);
  const payloadKey = hkdf(salt, key, concat(utf8("payload"), context), KEY_BYTES);
  const membership = signing.keyPairFromSeed(hkdf(salt, key, concat(utf8("membership"), context), KEY_BYTES));
  return { kind, name, nameHash, id: serviceId(joinKind, nameHash, membership.publicKey), payloadKey, membership };
}

// Proofs: signatures over a context label and the relay's fresh challenge, so a captured proof is worth
// nothing on another connection or for another purpose.

function proofMessage(label: string, challenge: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  return concat(utf8(`${PROTOCOL_LABEL}/${label}`), challenge, ...parts);
}

export function signHello(
  signing: SigningBackend,
  identity: SigningKeyPair,
  relayId: Uint8Array,
  challenge: Uint8Array,
): Uint8Array {
  return signDetached(signing, proofMessage("hello", challenge, relayId), identity.secretKey);
}

export function verifyHello(
  signing: SigningBackend,
  identityKey: Uint8Array,
  signature: Uint8Array,
  relayId: Uint8Array,
  challenge: Uint8Array,
): boolean {
  return verifyDetached(signing, proofMessage("hello", challenge, relayId), signature, identityKey);
}

/** A relay accepting another relay's link proves its identity by signing the dialer's nonce. */
export function signRelayWelcome(
  signing: SigningBackend,
  identity: SigningKeyPair,
  nonce: Uint8Array,
  dialerId: Uint8Array,
): Uint8Array {
  return signDetached(signing, proofMessage("relay-welcome", nonce, dialerId), identity.secretKey);
}

export function verifyRelayWelcome(
  signing: SigningBackend,
  identityKey: Uint8Array,
  signature: Uint8Array,
  nonce: Uint8Array,
  dialerId: Uint8Array,
): boolean {
  return verifyDetached(signing, proofMessage("relay-welcome", nonce, dialerId), signature, identityKey);
}

export function signJoin(signing: SigningBackend, keys: ServiceKeys, challenge: Uint8Array): Uint8Array {
  return signDetached(signing, proofMessage("join", challenge, keys.id), keys.membership.secretKey);
}

export function verifyJoin(
  signing: SigningBackend,
  id: Uint8Array,
  publicKey: Uint8Array,
  signature: Uint8Array,
  challenge: Uint8Array,
): boolean {
  return verifyDetached(signing, proofMessage("join", challenge, id), signature, publicKey);
}

/** A peer's long-lived identity; its peer id survives reconnects. */
export function generateIdentity(signing: SigningBackend): SigningKeyPair {
  return signingKeyPair(signing);
}

export function peerIdOf(identityKey: Uint8Array): Uint8Array {
  return sha512(concat(utf8(`${PROTOCOL_LABEL}/peer`), identityKey)).subarray(0, PEER_ID_BYTES);
}
