// Node's native Ed25519 backend must be a drop-in for tweetnacl: same keys, same signatures.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "../../../core/util/bytes.ts";
import { tweetnaclSigning } from "../../../core/crypto/nacl.ts";
import { nodeSigning } from "../../../core/crypto/signing.node.ts";

test("node:crypto Ed25519 derives the same key pairs and signatures as tweetnacl", () => {
  for (let i = 0; i < 20; i++) {
    const seed = randomBytes(32);
    const ours = nodeSigning.keyPairFromSeed(seed);
    const theirs = tweetnaclSigning.keyPairFromSeed(seed);
    assert.deepEqual(ours.publicKey, theirs.publicKey);
    assert.deepEqual(ours.secretKey, theirs.secretKey);
    const message = randomBytes(i * 10);
    const signature = nodeSigning.sign(message, ours.secretKey);
    assert.deepEqual(signature, tweetnaclSigning.sign(message, theirs.secretKey));
    assert.ok(tweetnaclSigning.verify(message, signature, theirs.publicKey));
    assert.ok(nodeSigning.verify(message, signature, ours.publicKey));
    const flipped = signature.slice();
    flipped[i % 64]! ^= 1;
    assert.equal(nodeSigning.verify(message, flipped, ours.publicKey), false);
  }
});

test("a public key that is not a curve point verifies nothing and throws nothing", () => {
  const bogus = new Uint8Array(32).fill(0xff);
  assert.equal(nodeSigning.verify(new Uint8Array(1), new Uint8Array(64), bogus), false);
});
