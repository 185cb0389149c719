// Sealing: round trips, tampering, wrong keys, malformed plaintexts built by hand, and compression bombs.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { deflateSync, inflateSync } from "fflate";
import {
  MESSAGE_ID_BYTES,
  Purpose,
  SEAL_VERSION,
  SealError,
  open,
  seal,
  sealedSize,
} from "../../../core/crypto/seal.ts";
import type { SealOptions } from "../../../core/crypto/seal.ts";
import { MessageIds, counterOf } from "../../../core/crypto/message-ids.ts";
import { SECRETBOX_NONCE_BYTES, SECRETBOX_OVERHEAD } from "../../../core/crypto/nacl.ts";
import { WireError, Writer } from "../../../core/wire/codec.ts";
import { MAX_HOPS, FrameType, decodeFrame, encodeFrame } from "../../../core/wire/frames.ts";
import { concat, randomBytes, toHex, utf8 } from "../../../core/util/bytes.ts";
import { ProtocolError } from "../../../core/errors.ts";
import { inflateInputOf } from "../../fixtures/inflate-meter.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

const key = new Uint8Array(32).map((_, i) => i + 1);
const otherKey = new Uint8Array(32).map((_, i) => i + 2);
const messageId = new Uint8Array(MESSAGE_ID_BYTES).fill(0x4d);
const requestId = new Uint8Array(MESSAGE_ID_BYTES).fill(0x52);
const timestamp = 1_700_000_000_123;
const MiB = 1024 * 1024;
const base: SealOptions = { purpose: Purpose.Request, timestamp, messageId };

function assertSealError(fn: () => unknown, what = "", pattern?: RegExp): SealError {
  let caught: unknown;
  assert.throws(fn, (error: unknown) => {
    caught = error;
    assert.ok(error instanceof SealError, `${what}: expected SealError, got ${String(error)}`);
    assert.ok(error instanceof ProtocolError);
    if (pattern) assert.match(error.message, pattern, what);
    return true;
  });
  return caught as SealError;
}

const FLAG_COMPRESSED = 0x01; // from the layout at the top of seal.ts

/** Seals a plaintext built by hand, skipping every check seal() would make. */
function sealPlaintext(plaintext: Uint8Array, sealKey = key): Uint8Array {
  const nonce = randomBytes(SECRETBOX_NONCE_BYTES);
  const box = testCrypto.secretbox.seal(plaintext, nonce, sealKey);
  return concat(Uint8Array.of(SEAL_VERSION), nonce, box);
}

/** [flags][purpose][message id][timestamp varint][inflated length varint][content] */
function compressedPlaintext(declared: number, content: Uint8Array): Uint8Array {
  return new Writer(64 + content.length)
    .u8(FLAG_COMPRESSED)
    .u8(Purpose.Broadcast)
    .fixed(messageId, MESSAGE_ID_BYTES)
    .varint(timestamp)
    .varint(declared)
    .rest(content)
    .finish();
}

describe("seal and open", () => {
  test("round trip keeps purpose, message id, timestamp and body", () => {
    const body = utf8("hello, cluster");
    const opened = open(testCrypto, key, seal(testCrypto, key, body, base), MiB);
    assert.equal(opened.purpose, Purpose.Request);
    assert.equal(toHex(opened.messageId), toHex(messageId));
    assert.equal(opened.timestamp, timestamp);
    assert.equal(opened.inReplyTo, null);
    assert.equal(toHex(opened.body), toHex(body));
  });

  test("inReplyTo and every purpose survive", () => {
    for (const purpose of Object.values(Purpose)) {
      const opened = open(
        testCrypto,
        key,
        seal(testCrypto, key, utf8("r"), { messageId, purpose, timestamp: 5, inReplyTo: requestId }),
        MiB,
      );
      assert.equal(opened.purpose, purpose);
      assert.equal(opened.timestamp, 5);
      assert.equal(toHex(opened.inReplyTo ?? new Uint8Array(0)), toHex(requestId));
    }
  });

  test("an empty body and a zero timestamp", () => {
    const opened = open(
      testCrypto,
      key,
      seal(testCrypto, key, new Uint8Array(0), { messageId, purpose: Purpose.Publish, timestamp: 0 }),
      0,
    );
    assert.equal(opened.body.length, 0);
    assert.equal(opened.timestamp, 0);
  });

  test("message ids are the sender's (its epoch and counter), nonces always random", () => {
    const ids = new MessageIds();
    const sealOne = () =>
      seal(testCrypto, key, utf8("x"), { messageId: ids.next(), purpose: Purpose.Broadcast, timestamp });
    const a = open(testCrypto, key, sealOne(), MiB);
    const b = open(testCrypto, key, sealOne(), MiB);
    assert.equal(a.messageId.length, MESSAGE_ID_BYTES);
    assert.deepEqual([counterOf(a.messageId), counterOf(b.messageId)], [1, 2]);
    assert.deepEqual(a.messageId.subarray(0, 8), ids.epoch);
    const first = seal(testCrypto, key, utf8("x"), base);
    const second = seal(testCrypto, key, utf8("x"), base);
    assert.notEqual(toHex(first.subarray(1, 25)), toHex(second.subarray(1, 25)), "nonce");
    assert.notEqual(toHex(first), toHex(second));
  });

  test("layout: version byte, 24-byte nonce, box of header and body", () => {
    const body = new Uint8Array(100).fill(7);
    const sealed = seal(testCrypto, key, body, base);
    assert.equal(sealed[0], SEAL_VERSION);
    // header: flags 1 + purpose 1 + id 16 + timestamp varint (41 bits: 6 bytes)
    assert.equal(sealed.length, 1 + SECRETBOX_NONCE_BYTES + SECRETBOX_OVERHEAD + 1 + 1 + 16 + 6 + body.length);
    assert.ok(sealedSize(body.length) >= sealed.length);
    const withReply = seal(testCrypto, key, body, { ...base, inReplyTo: requestId });
    assert.equal(withReply.length, sealed.length + MESSAGE_ID_BYTES);
    assert.ok(sealedSize(body.length) >= withReply.length);
  });

  test("opens from a view inside a decoded frame", () => {
    const sealed = seal(testCrypto, key, utf8("routed"), base);
    const frame = decodeFrame(
      encodeFrame({
        type: FrameType.Publish,
        hops: MAX_HOPS,
        id: new Uint8Array(32),
        origin: new Uint8Array(16),
        sealed,
      }),
    );
    assert.ok(frame.type === FrameType.Publish);
    assert.ok(frame.sealed.byteOffset > 0);
    assert.equal(new TextDecoder().decode(open(testCrypto, key, frame.sealed, MiB).body), "routed");
  });
});

describe("what does not open", () => {
  const sealed = seal(testCrypto, key, utf8("small message"), { ...base, inReplyTo: requestId });

  test("the wrong key", () => {
    assertSealError(() => open(testCrypto, otherKey, sealed, MiB), "wrong key", /authenticate/);
  });

  test("any single flipped byte, at every position", () => {
    for (let i = 0; i < sealed.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const tampered = sealed.slice();
        tampered[i] = tampered[i]! ^ mask;
        assertSealError(() => open(testCrypto, key, tampered, MiB), `byte ${i} ^ ${mask}`);
      }
    }
  });

  test("every truncation, and an extra byte", () => {
    for (let length = 0; length < sealed.length; length++) {
      assertSealError(() => open(testCrypto, key, sealed.subarray(0, length), MiB), `cut to ${length}`);
    }
    assertSealError(() => open(testCrypto, key, Uint8Array.of(...sealed, 0), MiB), "extra byte");
  });

  test("an unknown seal version", () => {
    for (const version of [0, 2, 255]) {
      const other = sealed.slice();
      other[0] = version;
      assertSealError(() => open(testCrypto, key, other, MiB), `version ${version}`, /version/);
    }
  });

  test("a body over maxBody", () => {
    const body = new Uint8Array(1000);
    assert.equal(open(testCrypto, key, seal(testCrypto, key, body, base), 1000).body.length, 1000);
    assertSealError(() => open(testCrypto, key, seal(testCrypto, key, body, base), 999), "uncompressed", /exceeds/);
  });

  test("authentic plaintexts that are malformed", () => {
    const header = (flags: number) =>
      new Writer(64).u8(flags).u8(Purpose.Request).fixed(messageId, 16).varint(1).finish();
    assertSealError(() => open(testCrypto, key, sealPlaintext(new Uint8Array(0)), MiB), "empty plaintext");
    assertSealError(() => open(testCrypto, key, sealPlaintext(Uint8Array.of(0, 1, 2)), MiB), "header cut short");
    assertSealError(() => open(testCrypto, key, sealPlaintext(header(0x04)), MiB), "unknown flag", /flags/);
    assertSealError(() => open(testCrypto, key, sealPlaintext(header(0x02)), MiB), "in-reply-to missing");
    const error = assertSealError(
      () => open(testCrypto, key, sealPlaintext(header(0x01)), MiB),
      "inflated length missing",
    );
    assert.ok(error.cause instanceof WireError, "the codec's error is kept as the cause");
  });
});

describe("compression", () => {
  const text = utf8("the quick brown fox jumps over the lazy dog. ".repeat(1500)).subarray(0, 64 * 1024);

  test("a compressible 64 KiB body is stored compressed and opens identical", () => {
    const sealed = seal(testCrypto, key, text, { ...base, compressAbove: 1024 });
    assert.ok(sealed.length < text.length / 10, `sealed ${sealed.length} bytes`);
    assert.ok(sealed.length <= sealedSize(text.length));
    const opened = open(testCrypto, key, sealed, MiB);
    assert.equal(toHex(opened.body), toHex(text));
    assert.equal(opened.timestamp, timestamp);
  });

  test("bodies below the threshold, or by default, are not compressed", () => {
    const small = text.subarray(0, 1023);
    assert.ok(seal(testCrypto, key, small, { ...base, compressAbove: 1024 }).length > small.length);
    assert.ok(seal(testCrypto, key, text, base).length > text.length, "no threshold given: never compressed");
  });

  test("sensitive bodies are never compressed", () => {
    const sealed = seal(testCrypto, key, text, { ...base, compressAbove: 0, sensitive: true });
    assert.ok(sealed.length > text.length);
    assert.equal(toHex(open(testCrypto, key, sealed, MiB).body), toHex(text));
  });

  test("an incompressible body is stored as is", () => {
    const noise = randomBytes(64 * 1024);
    const sealed = seal(testCrypto, key, noise, { ...base, compressAbove: 0 });
    assert.ok(sealed.length > noise.length);
    assert.equal(toHex(open(testCrypto, key, sealed, MiB).body), toHex(noise));
  });

  test("the inflated size counts against maxBody", () => {
    const sealed = seal(testCrypto, key, text, { ...base, compressAbove: 1024 });
    // open() works in place: each attempt gets its own copy.
    assert.equal(open(testCrypto, key, sealed.slice(), text.length).body.length, text.length);
    assertSealError(() => open(testCrypto, key, sealed.slice(), text.length - 1), "one under", /exceeds/);
  });

  test("a declared length that disagrees with the stream", () => {
    const content = deflateSync(text);
    assert.equal(
      open(testCrypto, key, sealPlaintext(compressedPlaintext(text.length, content)), MiB).body.length,
      text.length,
    );
    assertSealError(
      () => open(testCrypto, key, sealPlaintext(compressedPlaintext(text.length + 1, content)), MiB),
      "longer",
    );
    assertSealError(
      () => open(testCrypto, key, sealPlaintext(compressedPlaintext(text.length - 1, content)), MiB),
      "shorter",
    );
    assertSealError(
      () => open(testCrypto, key, sealPlaintext(compressedPlaintext(10, Uint8Array.of(0xff, 0xff))), MiB),
      "corrupt",
    );
  });

  test("bomb: a declared length over maxBody is refused before inflating", () => {
    // The content is not even deflate: had it been inflated, the error would say "corrupt".
    const junk = new Uint8Array(64).fill(0xff);
    for (const declared of [MiB + 1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const error = assertSealError(
        () => open(testCrypto, key, sealPlaintext(compressedPlaintext(declared, junk)), MiB),
        `${declared}`,
      );
      assert.match(error.message, /exceeds the cap/);
      assert.doesNotMatch(error.message, /corrupt/);
    }
  });

  test("bomb: a small declared length over 50 MB of zeros stops early", () => {
    const zeros = new Uint8Array(50_000_000);
    const content = deflateSync(zeros, { level: 4 });
    assert.ok(content.length < 100_000, `50 MB of zeros deflates to ${content.length} bytes`);
    const bomb = sealPlaintext(compressedPlaintext(1000, content));

    // Work is counted in compressed bytes fed to the inflater, which no machine's load can stretch.
    const refused = inflateInputOf(() =>
      assertSealError(() => open(testCrypto, key, bomb, 64 * MiB), "bomb", /past its declared/),
    );
    assert.equal(refused.thrown, undefined);
    assert.equal(inflateSync(content).length, zeros.length, "the whole stream is the 50 MB");
    assert.ok(refused.bytes < content.length / 4, `read ${refused.bytes} of the stream's ${content.length} bytes`);
  });
});
