// Secretbox through libsodium (the `sodium-native` package), for Node: about four times faster than
// tweetnacl's pure JavaScript on 1 KiB messages, and it is the hot path of every message a Node peer
// seals or opens. The boxes are byte-identical to tweetnacl's (MAC first, then the ciphertext), so Node
// and browser peers interoperate; test/unit/crypto/secretbox.test.ts checks that on every run.
//
// sodium-native is an optional dependency with prebuilt binaries. Where it cannot load (a platform
// without a prebuild), Node peers keep tweetnacl, and their backend's name says so.
//
// libsodium seals and opens in place (its output may overlap its input), which is how the hot paths
// build a frame around a box without copying the message.

import { createRequire } from "node:module";
import { SECRETBOX_OVERHEAD } from "./nacl.ts";
import type { SecretboxBackend } from "./nacl.ts";

/** The part of sodium-native this backend calls. */
interface SodiumSecretbox {
  crypto_secretbox_easy(out: Uint8Array, message: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  crypto_secretbox_open_easy(out: Uint8Array, box: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean;
}

/** libsodium's secretbox, or null when sodium-native is not installed or does not load here. */
export function loadSodiumSecretbox(): SecretboxBackend | null {
  let sodium: SodiumSecretbox;
  try {
    // A CommonJS native addon: require() loads it synchronously, so the backend is in place before
    // anything is sealed. What it returns is untyped; the interface above is what we rely on.
    sodium = createRequire(import.meta.url)("sodium-native") as SodiumSecretbox;
  } catch {
    return null;
  }
  return {
    name: "libsodium (sodium-native)",
    seal(message, nonce, key) {
      const box = new Uint8Array(message.length + SECRETBOX_OVERHEAD);
      sodium.crypto_secretbox_easy(box, message, nonce, key);
      return box;
    },
    open(box, nonce, key) {
      if (box.length < SECRETBOX_OVERHEAD) return null;
      const message = new Uint8Array(box.length - SECRETBOX_OVERHEAD);
      return sodium.crypto_secretbox_open_easy(message, box, nonce, key) ? message : null;
    },
    sealInPlace(buffer, nonce, key) {
      sodium.crypto_secretbox_easy(buffer, buffer.subarray(SECRETBOX_OVERHEAD), nonce, key);
    },
    openInPlace(buffer, nonce, key) {
      if (buffer.length < SECRETBOX_OVERHEAD) return false;
      return sodium.crypto_secretbox_open_easy(buffer.subarray(SECRETBOX_OVERHEAD), buffer, nonce, key);
    },
  };
}
