// The only module that imports tweetnacl. Everything else in core asks this file for primitives, so a
// faster backend (libsodium in Node, for example) can replace the hot secretbox path in one place.

import nacl from "tweetnacl";
import { randomBytes } from "../util/bytes.ts";

export const SECRETBOX_KEY_BYTES = 32;
export const SECRETBOX_NONCE_BYTES = 24;
export const SECRETBOX_OVERHEAD = 16;
export const SIGN_SEED_BYTES = 32;

// tweetnacl finds a PRNG itself in browsers and CommonJS Node; under ESM loaders it may not, so give it
// the Web Crypto one explicitly.
nacl.setPRNG((out: Uint8Array, n: number) => out.set(randomBytes(n)));

/** The secretbox primitive (XSalsa20-Poly1305). Any backend must produce byte-identical boxes. */
export interface SecretboxBackend {
  readonly name: string;
  seal(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  /** Returns null when the box does not authenticate. */
  open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null;
}

export const tweetnaclSecretbox: SecretboxBackend = {
  name: "tweetnacl",
  seal: (message, nonce, key) => nacl.secretbox(message, nonce, key),
  open: (box, nonce, key) => nacl.secretbox.open(box, nonce, key),
};

let secretboxBackend: SecretboxBackend = tweetnaclSecretbox;

export function useSecretboxBackend(backend: SecretboxBackend): void {
  secretboxBackend = backend;
}

export function secretboxBackendName(): string {
  return secretboxBackend.name;
}

export function secretbox(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  return secretboxBackend.seal(message, nonce, key);
}

export function secretboxOpen(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null {
  return secretboxBackend.open(box, nonce, key);
}

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

let signingBackend: SigningBackend = tweetnaclSigning;

/** Swaps in a faster Ed25519 (Node's native one, from core/node.ts). */
export function useSigningBackend(backend: SigningBackend): void {
  signingBackend = backend;
}

export function signingBackendName(): string {
  return signingBackend.name;
}

export function signingKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  return signingBackend.keyPairFromSeed(seed);
}

export function signingKeyPair(): SigningKeyPair {
  return signingBackend.keyPairFromSeed(randomBytes(SIGN_SEED_BYTES));
}

export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return signingBackend.sign(message, secretKey);
}

export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== nacl.sign.signatureLength || publicKey.length !== nacl.sign.publicKeyLength) return false;
  return signingBackend.verify(message, signature, publicKey);
}

export interface DhKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** A fresh X25519 key pair for one handshake. */
export function ephemeralKeyPair(): DhKeyPair {
  return nacl.box.keyPair();
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
