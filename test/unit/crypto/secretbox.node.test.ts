// libsodium's secretbox (sodium-native) must be a drop-in for tweetnacl's: the same boxes byte for byte,
// each opening the other's, and both refusing the same forgeries. Node peers seal with it and browser
// peers with tweetnacl, so any difference would split the network in two.

import { test } from "node:test";
import assert from "node:assert/strict";
import { concat, randomBytes } from "../../../core/util/bytes.ts";
import { SECRETBOX_OVERHEAD, tweetnaclSecretbox } from "../../../core/crypto/nacl.ts";
import { loadSodiumSecretbox } from "../../../core/crypto/secretbox.node.ts";
import { nodeCrypto } from "../../../core/node.ts";

const sodium = loadSodiumSecretbox();

test("sodium-native is installed (an optional dependency), and the Node entry seals with it", () => {
  assert.ok(sodium, "sodium-native did not load: `npm ci` should have installed its prebuilt binary");
  assert.equal(nodeCrypto.secretbox.name, sodium.name);
});

test("its boxes are tweetnacl's, byte for byte, and each opens the other's", () => {
  assert.ok(sodium);
  // Lengths around the 64-byte Salsa20 block and Poly1305's 16-byte block, then larger ones.
  const lengths = [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 1000, 1024, 4096, 65_537];
  for (const length of [...lengths, ...Array.from({ length: 50 }, (_, i) => (i * 7919) % 20_000)]) {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const message = randomBytes(length);
    const ours = sodium.seal(message, nonce, key);
    const theirs = tweetnaclSecretbox.seal(message, nonce, key);
    assert.equal(ours.length, length + SECRETBOX_OVERHEAD);
    assert.deepEqual(ours, theirs, `a ${length}-byte message`);
    assert.deepEqual(sodium.open(theirs, nonce, key), message);
    assert.deepEqual(tweetnaclSecretbox.open(ours, nonce, key), message);
    // Boxes usually arrive as views into a larger frame, and messages as views into a writer's buffer.
    const frame = concat(randomBytes(1 + (length % 7)), theirs, randomBytes(3));
    const inFrame = frame.subarray(frame.length - 3 - theirs.length, frame.length - 3);
    assert.deepEqual(sodium.open(inFrame, nonce, key), message);
    const padded = concat(randomBytes(5), message);
    assert.deepEqual(sodium.seal(padded.subarray(5), nonce, key), theirs);
  }
});

test("both refuse the same forgeries: any flipped bit, the wrong key or nonce, a short box", () => {
  assert.ok(sodium);
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const box = sodium.seal(randomBytes(100), nonce, key);
  for (let bit = 0; bit < box.length * 8; bit += 13) {
    const forged = box.slice();
    forged[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(sodium.open(forged, nonce, key), null, `bit ${bit}`);
    assert.equal(tweetnaclSecretbox.open(forged, nonce, key), null, `bit ${bit}`);
  }
  assert.equal(sodium.open(box, nonce, randomBytes(32)), null);
  assert.equal(sodium.open(box, randomBytes(24), key), null);
  for (const length of [0, 1, SECRETBOX_OVERHEAD - 1]) {
    assert.equal(sodium.open(box.subarray(0, length), nonce, key), null);
    assert.equal(tweetnaclSecretbox.open(box.subarray(0, length), nonce, key), null);
  }
});

test("both seal and open in place, to the same bytes as seal() and open(), and refuse forgeries in place", () => {
  assert.ok(sodium);
  for (const backend of [sodium, tweetnaclSecretbox]) {
    for (const length of [0, 1, 16, 100, 1024, 70_000]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const message = randomBytes(length);
      // A frame: 7 bytes of header, room for the MAC, the message, and 3 bytes that must stay untouched.
      const frame = concat(randomBytes(7), new Uint8Array(SECRETBOX_OVERHEAD), message, randomBytes(3));
      const tail = frame.slice(frame.length - 3);
      const box = frame.subarray(7, 7 + SECRETBOX_OVERHEAD + length);
      backend.sealInPlace(box, nonce, key);
      assert.deepEqual(box, tweetnaclSecretbox.seal(message, nonce, key), `${backend.name}: ${length} bytes`);
      assert.deepEqual(frame.subarray(frame.length - 3), tail, "nothing written past the box");
      const forged = box.slice();
      forged[forged.length - 1]! ^= 1;
      assert.equal(backend.openInPlace(forged, nonce, key), false);
      assert.equal(backend.openInPlace(box, nonce, key), true);
      assert.deepEqual(box.subarray(SECRETBOX_OVERHEAD), message, `${backend.name}: opened in place`);
    }
  }
});
