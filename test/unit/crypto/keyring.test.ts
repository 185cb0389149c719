// The keyring: keys by name, derived once; KeyError for what is missing or malformed; development mode.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Keyring } from "../../../core/crypto/keyring.ts";
import { deriveServiceKeys, generateKey, insecureDevelopmentKey, parseKey } from "../../../core/crypto/keys.ts";
import { toBase64Url, toHex } from "../../../core/util/bytes.ts";
import { KeyError } from "../../../core/errors.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

const dbKey = generateKey();
const cacheKey = generateKey();

function assertKeyError(fn: () => unknown, what: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof KeyError, `${what}: expected KeyError, got ${String(error)}`);
    assert.equal(error.code, "KEY");
    return true;
  });
}

describe("Keyring", () => {
  test("derives each service's keys from the key configured under its name", () => {
    const keyring = new Keyring(testCrypto.signing, { db: dbKey, cache: cacheKey });
    const db = keyring.get("cluster", "db");
    const expected = deriveServiceKeys(testCrypto.signing, "cluster", "db", parseKey(dbKey));
    assert.equal(toHex(db.id), toHex(expected.id));
    assert.equal(toHex(db.payloadKey), toHex(expected.payloadKey));
    assert.equal(db.kind, "cluster");
    assert.equal(db.name, "db");
    assert.notEqual(toHex(keyring.get("cluster", "cache").id), toHex(db.id));
    assert.ok(keyring.has("db") && keyring.has("cache"));
  });

  test("accepts raw 32-byte keys as well as text", () => {
    const bytes = new Uint8Array(32).fill(3);
    const fromBytes = new Keyring(testCrypto.signing, { db: bytes }).get("topic", "db");
    const fromText = new Keyring(testCrypto.signing, { db: toBase64Url(bytes) }).get("topic", "db");
    assert.equal(toHex(fromBytes.id), toHex(fromText.id));
    assert.equal(toHex(fromBytes.id), toHex(deriveServiceKeys(testCrypto.signing, "topic", "db", bytes).id));
  });

  test("cluster and topic keys under one name differ, and each is derived once", () => {
    const keyring = new Keyring(testCrypto.signing, { db: dbKey });
    const cluster = keyring.get("cluster", "db");
    const topic = keyring.get("topic", "db");
    assert.notEqual(toHex(cluster.id), toHex(topic.id));
    assert.notEqual(toHex(cluster.payloadKey), toHex(topic.payloadKey));
    assert.equal(keyring.get("cluster", "db"), cluster, "cached");
    assert.equal(keyring.get("topic", "db"), topic, "cached");
  });

  test("set replaces a key and forgets what was derived from the old one", () => {
    const keyring = new Keyring(testCrypto.signing, { db: dbKey });
    const before = keyring.get("cluster", "db");
    const beforeTopic = keyring.get("topic", "db");
    keyring.set("db", cacheKey);
    const after = keyring.get("cluster", "db");
    assert.notEqual(toHex(after.id), toHex(before.id));
    assert.equal(toHex(after.id), toHex(deriveServiceKeys(testCrypto.signing, "cluster", "db", parseKey(cacheKey)).id));
    assert.notEqual(toHex(keyring.get("topic", "db").id), toHex(beforeTopic.id));
  });

  test("an unknown name is a KeyError outside development mode", () => {
    const keyring = new Keyring(testCrypto.signing, { db: dbKey });
    assert.equal(keyring.has("nope"), false);
    assert.equal(keyring.development, false);
    assertKeyError(() => keyring.get("cluster", "nope"), "unknown cluster");
    assertKeyError(() => keyring.get("topic", "nope"), "unknown topic");
    assertKeyError(() => new Keyring(testCrypto.signing).get("cluster", "db"), "empty keyring");
  });

  test("an empty name is a KeyError, even in development mode", () => {
    assertKeyError(() => new Keyring(testCrypto.signing, {}, true).get("cluster", ""), "empty name");
  });

  test("a name that is not well-formed Unicode is a KeyError: lone surrogates would make two names one", () => {
    const keyring = new Keyring(testCrypto.signing, {}, true);
    // On the wire both would be U+FFFD: in development mode, the same key and the same cluster.
    for (const name of ["\uD800", "\uDFFF", "db\uD83D", "\uDE00db"]) {
      assertKeyError(() => keyring.get("cluster", name), JSON.stringify(name));
      assert.throws(() => keyring.get("topic", name), /well-formed Unicode: it has a lone surrogate/);
    }
    assertKeyError(() => new Keyring(testCrypto.signing, { "\uD800": dbKey }), "a configured key under such a name");
    // A whole surrogate pair is one character, and fine.
    assert.equal(keyring.get("cluster", "db\u{1F600}").name, "db\u{1F600}");
  });

  test("malformed key text or bytes are KeyErrors", () => {
    assertKeyError(() => new Keyring(testCrypto.signing, { db: "not a key!" }), "bad characters");
    assertKeyError(() => new Keyring(testCrypto.signing, { db: dbKey.slice(0, 40) }), "too short");
    assertKeyError(() => new Keyring(testCrypto.signing, { db: dbKey + "AAAA" }), "too long");
    assertKeyError(() => new Keyring(testCrypto.signing, { db: new Uint8Array(31) }), "31 bytes");
    const keyring = new Keyring(testCrypto.signing);
    assertKeyError(() => keyring.set("db", ""), "empty text");
    assertKeyError(() => keyring.set("db", new Uint8Array(33)), "33 bytes");
    assert.equal(keyring.has("db"), false, "a refused key is not stored");
  });

  test("development mode derives keys from names, the same in every instance", () => {
    const a = new Keyring(testCrypto.signing, {}, true);
    const b = new Keyring(testCrypto.signing, {}, true);
    assert.ok(a.has("anything"));
    const fromA = a.get("cluster", "demo");
    const fromB = b.get("cluster", "demo");
    assert.equal(toHex(fromA.id), toHex(fromB.id));
    assert.equal(toHex(fromA.payloadKey), toHex(fromB.payloadKey));
    const expected = deriveServiceKeys(testCrypto.signing, "cluster", "demo", insecureDevelopmentKey("demo"));
    assert.equal(toHex(fromA.id), toHex(expected.id));
    assert.notEqual(toHex(a.get("cluster", "demo2").id), toHex(fromA.id));
  });

  test("development mode still uses configured keys where there are some", () => {
    const keyring = new Keyring(testCrypto.signing, { db: dbKey }, true);
    assert.equal(
      toHex(keyring.get("cluster", "db").id),
      toHex(deriveServiceKeys(testCrypto.signing, "cluster", "db", parseKey(dbKey)).id),
    );
    const insecure = deriveServiceKeys(testCrypto.signing, "cluster", "db", insecureDevelopmentKey("db"));
    assert.notEqual(toHex(keyring.get("cluster", "db").id), toHex(insecure.id));
  });

  test("a rolled key: accepted beside the current one, then current, then the old one retired", () => {
    const keyring = new Keyring(testCrypto.signing, { db: dbKey });
    const ids = (kind: "cluster" | "topic") => keyring.all(kind, "db").map((keys) => toHex(keys.id));
    const oldId = toHex(keyring.keysFor("cluster", "db", dbKey).id);
    const newId = toHex(keyring.keysFor("cluster", "db", cacheKey).id);
    assert.equal(keyring.accept("db", cacheKey), true);
    assert.equal(keyring.accept("db", cacheKey), false, "accepting twice holds it once");
    assert.equal(keyring.accept("db", dbKey), false, "the current key is held already");
    assert.deepEqual(ids("cluster"), [oldId, newId]);
    assert.equal(ids("topic").length, 2, "a key serves the topic of the same name too");
    assert.equal(toHex(keyring.get("cluster", "db").id), oldId, "accepting does not change what is sent");

    keyring.use("db", cacheKey);
    assert.equal(toHex(keyring.get("cluster", "db").id), newId, "sends with the new key");
    assert.deepEqual(ids("cluster"), [newId, oldId], "and still accepts the old one");
    assertKeyError(() => keyring.retire("db", cacheKey), "retiring the current key");

    assert.equal(keyring.retire("db", dbKey), true);
    assert.equal(keyring.retire("db", dbKey), false, "retiring twice is a no-op");
    assert.deepEqual(ids("cluster"), [newId]);
  });

  test("use() takes a key never accepted before; malformed rotation keys are refused and change nothing", () => {
    const keyring = new Keyring(testCrypto.signing, { db: dbKey });
    keyring.use("db", cacheKey);
    assert.equal(keyring.all("cluster", "db").length, 2);
    assertKeyError(() => keyring.accept("db", new Uint8Array(31)), "31-byte key");
    assertKeyError(() => keyring.use("db", "not a key"), "text that is no key");
    assert.equal(keyring.all("cluster", "db").length, 2);
    assert.equal(toHex(keyring.get("cluster", "db").id), toHex(keyring.keysFor("cluster", "db", cacheKey).id));
  });

  test("derived keys are found again however the key is given, and a caller reusing its array changes nothing", () => {
    const raw = parseKey(dbKey);
    const keyring = new Keyring(testCrypto.signing, { db: raw });
    const first = keyring.get("cluster", "db");
    raw.fill(0); // the caller reuses its array for something else
    assert.equal(keyring.get("cluster", "db"), first, "the same derived object, from the keyring's own copy");
    assert.equal(toHex(first.id), toHex(deriveServiceKeys(testCrypto.signing, "cluster", "db", parseKey(dbKey)).id));
    assert.equal(keyring.keysFor("cluster", "db", dbKey), first, "the same key as text finds the same derivation");
    assert.equal(keyring.keysFor("cluster", "db", parseKey(dbKey)), first, "and as another array of the same bytes");
    const development = new Keyring(testCrypto.signing, {}, true);
    assert.equal(
      development.get("topic", "news"),
      development.get("topic", "news"),
      "development keys are derived once",
    );
  });
});
