// The only module that imports tweetnacl. The two primitives that run per message or per connection,
// secretbox and Ed25519, come as backends that a connection or relay is given (CryptoBackend), like its
// clock: the portable one here (tweetnacl), or Node's (libsodium's secretbox, Node's own Ed25519; see
// core/node.ts). Nothing here changes global state, so two configurations can live in one process.

import nacl from "tweetnacl";
import { randomBytes } from "../util/bytes.ts";
import { fflateCompression } from "./compress.ts";
import type { CompressionBackend } from "./compress.ts";

export const SECRETBOX_KEY_BYTES = 32;
export const SECRETBOX_NONCE_BYTES = 24;
export const SECRETBOX_OVERHEAD = 16;
export const SIGN_SEED_BYTES = 32;

/** The secretbox primitive (XSalsa20-Poly1305). Any backend must produce byte-identical boxes. */
export interface SecretboxBackend {
  readonly name: string;
  seal(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  /** Returns null when the box does not authenticate. */
  open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null;
  /**
   * Seals in place: `buffer` holds SECRETBOX_OVERHEAD bytes of room, then the message; afterwards it
   * holds the box (MAC, then ciphertext). Hot paths build a frame around the box this way, with no copy.
   */
  sealInPlace(buffer: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  /** Opens in place: `buffer` holds the box; on success its bytes after the MAC are the message. */
  openInPlace(buffer: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean;
}

export const tweetnaclSecretbox: SecretboxBackend = {
  name: "tweetnacl",
  seal: (message, nonce, key) => nacl.secretbox(message, nonce, key),
  open: (box, nonce, key) => nacl.secretbox.open(box, nonce, key),
  sealInPlace(buffer, nonce, key) {
    buffer.set(nacl.secretbox(buffer.subarray(SECRETBOX_OVERHEAD), nonce, key));
  },
  openInPlace(buffer, nonce, key) {
    const message = nacl.secretbox.open(buffer, nonce, key);
    if (!message) return false;
    buffer.set(message, SECRETBOX_OVERHEAD);
    return true;
  },
};

/** SHA-512. */
export function sha512(message: Uint8Array): Uint8Array {
  return nacl.hash(message);
}

export interface SigningKeyPair {
  publicKey: Uint8Array;
  /** 64 bytes in NaCl's layout: the 32-byte seed, then the public key. */
  secretKey: Uint8Array;
}

/** Ed25519. Signatures are deterministic, so every backend produces the same bytes. */
export interface SigningBackend {
  readonly name: string;
  keyPairFromSeed(seed: Uint8Array): SigningKeyPair;
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

export const tweetnaclSigning: SigningBackend = {
  name: "tweetnacl",
  keyPairFromSeed: (seed) => nacl.sign.keyPair.fromSeed(seed),
  sign: (message, secretKey) => nacl.sign.detached(message, secretKey),
  verify: (message, signature, publicKey) => nacl.sign.detached.verify(message, signature, publicKey),
};

/** The backends a connection or relay seals, signs and compresses with. */
export interface CryptoBackend {
  readonly secretbox: SecretboxBackend;
  readonly signing: SigningBackend;
  readonly compression: CompressionBackend;
}

/** Pure JavaScript, everywhere: the default, and what browsers use. */
export const portableCrypto: CryptoBackend = {
  secretbox: tweetnaclSecretbox,
  signing: tweetnaclSigning,
  compression: fflateCompression,
};

/** A fresh Ed25519 key pair. */
export function signingKeyPair(signing: SigningBackend): SigningKeyPair {
  return signing.keyPairFromSeed(randomBytes(SIGN_SEED_BYTES));
}

export function signDetached(signing: SigningBackend, message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return signing.sign(message, secretKey);
}

export function verifyDetached(
  signing: SigningBackend,
  message: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== nacl.sign.signatureLength || publicKey.length !== nacl.sign.publicKeyLength) return false;
  return signing.verify(message, signature, publicKey);
}

export interface DhKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** A fresh X25519 key pair for one handshake (from Web Crypto randomness: tweetnacl's own PRNG is unused). */
export function ephemeralKeyPair(): DhKeyPair {
  return nacl.box.keyPair.fromSecretKey(randomBytes(nacl.box.secretKeyLength));
}

/** X25519. Returns null for a low-order peer key, whose shared secret would be all zeros. */
export function x25519(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | null {
  if (peerPublicKey.length !== nacl.scalarMult.groupElementLength) return null;
  const shared = nacl.scalarMult(secretKey, peerPublicKey);
  let acc = 0;
  for (const byte of shared) acc |= byte;
  return acc === 0 ? null : shared;
}

/** Constant-time comparison, for MACs and proofs. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.length > 0 && nacl.verify(a, b);
}
