// Keys: HMAC and HKDF checked against node:crypto, key text, service key derivation, proofs, peer ids.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, hkdfSync } from "node:crypto";
import {
  KEY_BYTES,
  deriveServiceKeys,
  generateIdentity,
  generateKey,
  hashName,
  hkdf,
  hmacSha512,
  insecureDevelopmentKey,
  joinKindOf,
  parseKey,
  peerIdOf,
  serviceId,
  signHello,
  signJoin,
  verifyHello,
  verifyJoin,
} from "../../../core/crypto/keys.ts";
import { fromHex, toBase64Url, toHex, utf8 } from "../../../core/util/bytes.ts";
import { KeyError } from "../../../core/errors.ts";
import { JoinKind } from "../../../core/wire/frames.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

/** Deterministic filler bytes: a different pattern per seed. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + ((i * seed) >> 3)) & 0xff;
  return out;
}

const flipBit = (bytes: Uint8Array, index: number, bit = 0): Uint8Array => {
  const out = bytes.slice();
  out[index] = out[index]! ^ (1 << bit);
  return out;
};

function assertKeyError(fn: () => unknown, what: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof KeyError, `${what}: expected KeyError, got ${String(error)}`);
    assert.equal(error.code, "KEY");
    return true;
  });
}

describe("hmacSha512", () => {
  test("RFC 4231 test case 2", () => {
    const mac = hmacSha512(utf8("Jefe"), utf8("what do ya want for nothing?"));
    assert.equal(
      toHex(mac),
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    );
  });

  test("matches node:crypto for keys on both sides of the 128-byte block", () => {
    for (const keyLength of [0, 1, 32, 64, 127, 128, 129, 200, 1000]) {
      for (const messageLength of [0, 3, 128, 1000]) {
        const key = pattern(keyLength, keyLength);
        const message = pattern(messageLength, messageLength + 1);
        const expected = createHmac("sha512", key).update(message).digest("hex");
        assert.equal(toHex(hmacSha512(key, message)), expected, `key ${keyLength}, message ${messageLength}`);
      }
    }
  });
});

describe("hkdf (HKDF-SHA512)", () => {
  const oracle = (salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): string =>
    toHex(new Uint8Array(hkdfSync("sha512", ikm, salt, info, length)));

  test("matches node:crypto across lengths, salts and infos", () => {
    const salts = [new Uint8Array(0), pattern(16, 1), pattern(129, 2), pattern(300, 3)];
    const ikms = [pattern(32, 4), pattern(1, 5), pattern(200, 6)];
    const infos = [new Uint8Array(0), utf8("payload"), pattern(150, 7)];
    for (const length of [1, 32, 63, 64, 65, 100, 255 * 64]) {
      for (const [i, salt] of salts.entries()) {
        const ikm = ikms[i % ikms.length]!;
        const info = infos[(i + length) % infos.length]!;
        assert.equal(
          toHex(hkdf(salt, ikm, info, length)),
          oracle(salt, ikm, info, length),
          `length ${length}, salt ${i}`,
        );
      }
    }
  });

  test("a shorter output is a prefix of a longer one", () => {
    const long = hkdf(pattern(8, 1), pattern(32, 2), utf8("x"), 200);
    assert.equal(toHex(hkdf(pattern(8, 1), pattern(32, 2), utf8("x"), 100)), toHex(long.subarray(0, 100)));
  });

  test("refuses more than 255 blocks", () => {
    assert.throws(() => hkdf(new Uint8Array(0), pattern(32, 1), new Uint8Array(0), 255 * 64 + 1), RangeError);
  });
});

describe("key text", () => {
  test("generateKey gives 43 base64url characters decoding to 32 bytes, fresh each time", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const key = generateKey();
      assert.match(key, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(parseKey(key).length, KEY_BYTES);
      seen.add(key);
    }
    assert.equal(seen.size, 20);
  });

  test("parseKey round-trips bytes, tolerating whitespace around the text", () => {
    const bytes = pattern(32, 9);
    assert.equal(toHex(parseKey(toBase64Url(bytes))), toHex(bytes));
    assert.equal(toHex(parseKey(`  ${toBase64Url(bytes)}\n`)), toHex(bytes));
    // Hand vectors: 43 characters carry 258 bits, the last two of them zero padding.
    assert.equal(toHex(parseKey("A".repeat(43))), "00".repeat(32));
    assert.equal(toHex(parseKey("_".repeat(42) + "8")), "ff".repeat(32));
  });

  test("parseKey refuses wrong lengths with KeyError", () => {
    const good = toBase64Url(pattern(32, 9));
    for (const text of [
      "",
      "AAAA",
      good.slice(0, 42),
      good.slice(0, 41),
      good + "A",
      good + "AA",
      toBase64Url(pattern(64, 1)),
    ]) {
      assertKeyError(() => parseKey(text), `length ${text.length}`);
    }
  });

  test("parseKey refuses characters outside base64url with KeyError", () => {
    const good = toBase64Url(pattern(32, 9));
    for (const bad of ["+", "/", "!", " ", ".", "é", "\u0000"]) {
      const text = good.slice(0, 20) + bad + good.slice(21);
      assertKeyError(() => parseKey(text), `character ${JSON.stringify(bad)}`);
    }
  });

  test("parseKey names what it was parsing", () => {
    assert.throws(() => parseKey("nope", 'key for "db"'), /key for "db"/);
  });
});

describe("insecureDevelopmentKey", () => {
  test("is the documented hash of the name: deterministic, 32 bytes, per name", () => {
    const expected = createHash("sha512").update("iris-mesh/v1/INSECURE-development-key/db").digest().subarray(0, 32);
    assert.equal(toHex(insecureDevelopmentKey("db")), expected.toString("hex"));
    assert.equal(insecureDevelopmentKey("db").length, KEY_BYTES);
    assert.notEqual(toHex(insecureDevelopmentKey("db")), toHex(insecureDevelopmentKey("db2")));
  });
});

describe("deriveServiceKeys", () => {
  const key = pattern(32, 11);
  const otherKey = flipBit(key, 31, 7);

  test("is deterministic and yields the documented sizes", () => {
    const a = deriveServiceKeys(testCrypto.signing, "cluster", "db", key);
    const b = deriveServiceKeys(testCrypto.signing, "cluster", "db", key.slice());
    assert.equal(toHex(a.id), toHex(b.id));
    assert.equal(toHex(a.payloadKey), toHex(b.payloadKey));
    assert.equal(toHex(a.membership.publicKey), toHex(b.membership.publicKey));
    assert.equal(toHex(a.membership.secretKey), toHex(b.membership.secretKey));
    assert.equal(a.id.length, 32);
    assert.equal(a.payloadKey.length, 32);
    assert.equal(a.membership.publicKey.length, 32);
    assert.equal(toHex(a.nameHash), toHex(hashName("db")));
    assert.equal(a.kind, "cluster");
    assert.equal(a.name, "db");
    assert.notEqual(toHex(a.payloadKey), toHex(key), "the payload key is derived, not the key itself");
  });

  test("differs for another name, kind or key, in every derived value", () => {
    const base = deriveServiceKeys(testCrypto.signing, "cluster", "db", key);
    const variants = {
      name: deriveServiceKeys(testCrypto.signing, "cluster", "db2", key),
      kind: deriveServiceKeys(testCrypto.signing, "topic", "db", key),
      key: deriveServiceKeys(testCrypto.signing, "cluster", "db", otherKey),
    };
    for (const [what, other] of Object.entries(variants)) {
      assert.notEqual(toHex(other.id), toHex(base.id), `${what}: id`);
      assert.notEqual(toHex(other.payloadKey), toHex(base.payloadKey), `${what}: payload key`);
      assert.notEqual(toHex(other.membership.publicKey), toHex(base.membership.publicKey), `${what}: membership`);
    }
    // Only the key changed: the name hash is shared, which is why the id must also hash the public key.
    assert.equal(toHex(variants.key.nameHash), toHex(base.nameHash));
  });

  test("serviceId(kind, nameHash, publicKey) recomputes the id, as a relay does", () => {
    for (const kind of ["cluster", "topic"] as const) {
      const keys = deriveServiceKeys(testCrypto.signing, kind, "svc", key);
      assert.equal(joinKindOf(kind), kind === "cluster" ? JoinKind.Member : JoinKind.Subscriber);
      assert.equal(toHex(serviceId(joinKindOf(kind), keys.nameHash, keys.membership.publicKey)), toHex(keys.id));
      const otherKind = kind === "cluster" ? JoinKind.Subscriber : JoinKind.Member;
      assert.notEqual(toHex(serviceId(otherKind, keys.nameHash, keys.membership.publicKey)), toHex(keys.id));
    }
  });

  test("refuses a key that is not 32 bytes", () => {
    for (const length of [0, 16, 31, 33, 64]) {
      assertKeyError(
        () => deriveServiceKeys(testCrypto.signing, "cluster", "db", new Uint8Array(length)),
        `length ${length}`,
      );
    }
  });
});

describe("proofs", () => {
  const keys = deriveServiceKeys(testCrypto.signing, "cluster", "db", pattern(32, 12));
  const other = deriveServiceKeys(testCrypto.signing, "cluster", "db", pattern(32, 13));
  const challenge = pattern(32, 14);
  const relayId = pattern(16, 15);

  test("a join proof verifies for its id and challenge only", () => {
    const signature = signJoin(testCrypto.signing, keys, challenge);
    assert.equal(signature.length, 64);
    assert.equal(verifyJoin(testCrypto.signing, keys.id, keys.membership.publicKey, signature, challenge), true);
    assert.equal(
      verifyJoin(testCrypto.signing, keys.id, keys.membership.publicKey, signature, flipBit(challenge, 0)),
      false,
      "challenge",
    );
    assert.equal(
      verifyJoin(testCrypto.signing, other.id, keys.membership.publicKey, signature, challenge),
      false,
      "another id",
    );
    assert.equal(
      verifyJoin(testCrypto.signing, flipBit(keys.id, 31, 7), keys.membership.publicKey, signature, challenge),
      false,
      "id bit",
    );
    assert.equal(
      verifyJoin(testCrypto.signing, keys.id, other.membership.publicKey, signature, challenge),
      false,
      "another key",
    );
    assert.equal(
      verifyJoin(testCrypto.signing, keys.id, keys.membership.publicKey, signature.subarray(0, 63), challenge),
      false,
      "short",
    );
  });

  test("flipping any one bit of a join signature breaks it", () => {
    const signature = signJoin(testCrypto.signing, keys, challenge);
    for (let i = 0; i < signature.length; i++) {
      const bit = i % 8;
      assert.equal(
        verifyJoin(testCrypto.signing, keys.id, keys.membership.publicKey, flipBit(signature, i, bit), challenge),
        false,
        `byte ${i}`,
      );
    }
  });

  test("a join proof made with another key does not verify", () => {
    const forged = signJoin(testCrypto.signing, other, challenge);
    assert.equal(verifyJoin(testCrypto.signing, keys.id, keys.membership.publicKey, forged, challenge), false);
  });

  test("a hello proof verifies for its relay and challenge only", () => {
    const identity = generateIdentity(testCrypto.signing);
    const signature = signHello(testCrypto.signing, identity, relayId, challenge);
    assert.equal(verifyHello(testCrypto.signing, identity.publicKey, signature, relayId, challenge), true);
    assert.equal(
      verifyHello(testCrypto.signing, identity.publicKey, signature, flipBit(relayId, 3), challenge),
      false,
      "relay",
    );
    assert.equal(
      verifyHello(testCrypto.signing, identity.publicKey, signature, relayId, flipBit(challenge, 9)),
      false,
      "challenge",
    );
    assert.equal(
      verifyHello(testCrypto.signing, generateIdentity(testCrypto.signing).publicKey, signature, relayId, challenge),
      false,
      "identity",
    );
    assert.equal(
      verifyHello(testCrypto.signing, identity.publicKey, flipBit(signature, 10), relayId, challenge),
      false,
      "signature",
    );
  });

  test("proofs are bound to their purpose: a hello signature is not a join signature", () => {
    const identity = generateIdentity(testCrypto.signing);
    const id = pattern(32, 16);
    const hello = signHello(testCrypto.signing, identity, id, challenge);
    assert.equal(verifyJoin(testCrypto.signing, id, identity.publicKey, hello, challenge), false);
  });
});

describe("peer ids", () => {
  test("peerIdOf is 16 bytes, deterministic, and differs per identity", () => {
    const a = generateIdentity(testCrypto.signing);
    const b = generateIdentity(testCrypto.signing);
    assert.equal(peerIdOf(a.publicKey).length, 16);
    assert.equal(toHex(peerIdOf(a.publicKey)), toHex(peerIdOf(a.publicKey.slice())));
    assert.notEqual(toHex(peerIdOf(a.publicKey)), toHex(peerIdOf(b.publicKey)));
    assert.notEqual(toHex(peerIdOf(fromHex("00".repeat(32)))), toHex(peerIdOf(fromHex("00".repeat(31) + "01"))));
  });
});
