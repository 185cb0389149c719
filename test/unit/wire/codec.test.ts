// Primitive field codecs: varint vectors, the reader's checks (and their stable reasons), views not copies.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_VARINT_BYTES, Reader, WireError, Writer, varintSize } from "../../../core/wire/codec.ts";
import type { WireErrorReason } from "../../../core/wire/codec.ts";
import { fromHex, toHex } from "../../../core/util/bytes.ts";
import { IrisError, ProtocolError } from "../../../core/errors.ts";

function assertWireError(fn: () => unknown, reason: WireErrorReason): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof WireError, `expected a WireError, got ${String(error)}`);
    assert.equal(error.reason, reason, `reason of: ${error.message}`);
    return true;
  });
}

function readVarint(hex: string, max?: number): { value: number; remaining: number } {
  const r = new Reader(fromHex(hex));
  const value = max === undefined ? r.varint("v") : r.varint("v", max);
  return { value, remaining: r.remaining };
}

describe("varints (unsigned LEB128, at most 53 bits)", () => {
  // Worked by hand: low 7-bit group first, continuation bit 0x80 on every byte but the last.
  const vectors: Array<[number, string]> = [
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "8001"], // 0 | 0x80, then 1
    [300, "ac02"], // 300 = 2*128 + 44; 44 | 0x80 = 0xac
    [16383, "ff7f"], // 127 + 127*128
    [16384, "808001"], // 2^14
    [2 ** 32, "8080808010"], // bit 32 is bit 4 of the fifth group
    [Number.MAX_SAFE_INTEGER, "ffffffffffffff0f"], // 7 full groups (49 bits) then 0b1111
  ];

  for (const [value, hex] of vectors) {
    test(`${value} <-> ${hex}`, () => {
      const written = new Writer(MAX_VARINT_BYTES).varint(value).finish();
      assert.equal(toHex(written), hex);
      assert.equal(varintSize(value), hex.length / 2);
      assert.deepEqual(readVarint(hex), { value, remaining: 0 });
    });
  }

  test("the writer refuses values that are not safe non-negative integers", () => {
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity]) {
      assert.throws(() => new Writer(16).varint(bad), RangeError, `value ${bad}`);
    }
  });

  test("non-minimal encodings are malformed: each value has one spelling", () => {
    for (const hex of ["8000", "ff00", "808000", "8180808000", "ffffffffffffff00"]) {
      assertWireError(() => readVarint(hex), "malformed");
    }
  });

  test("more than 8 bytes is malformed, even when the value would be small", () => {
    assertWireError(() => readVarint("808080808080808001"), "malformed");
    assertWireError(() => readVarint("ffffffffffffffff7f"), "malformed");
  });

  test("8 bytes above 2^53 - 1 are oversized", () => {
    assertWireError(() => readVarint("8080808080808010"), "oversized"); // exactly 2^53
    assertWireError(() => readVarint("ffffffffffffff7f"), "oversized"); // 2^56 - 1
  });

  test("a varint cut short is truncated", () => {
    for (const hex of ["", "80", "ff", "8080", "ffffffffffffff"]) assertWireError(() => readVarint(hex), "truncated");
  });

  test("a per-field maximum is enforced with reason oversized", () => {
    assert.equal(readVarint("e807", 1000).value, 1000); // 1000 = 7*128 + 104; 104 | 0x80 = 0xe8
    assertWireError(() => readVarint("e907", 1000), "oversized");
    assertWireError(() => readVarint("01", 0), "oversized");
  });

  test("reads leave the cursor right after the varint", () => {
    const r = new Reader(fromHex("ac02 7f 00"));
    assert.equal(r.varint("a"), 300);
    assert.equal(r.remaining, 2);
    assert.equal(r.varint("b"), 127);
    assert.equal(r.varint("c"), 0);
    assert.equal(r.remaining, 0);
  });
});

describe("Writer", () => {
  test("writes each field kind in order, exactly as documented", () => {
    const bytes = new Writer(64)
      .u8(0xab)
      .fixed(fromHex("010203"), 3)
      .bytesField(fromHex("eeff"))
      .string("é!", 64)
      .varint(300)
      .rest(fromHex("cafe"))
      .finish();
    // u8 | fixed 3 | len 2 + 2 bytes | len 3 + "é!" (c3 a9 21) | varint 300 | rest
    assert.equal(toHex(bytes), "ab" + "010203" + "02eeff" + "03c3a921" + "ac02" + "cafe");
  });

  test("finish returns only what was written, and the whole buffer when full", () => {
    const partial = new Writer(10).u8(1).u8(2).finish();
    assert.equal(partial.length, 2);
    const full = new Writer(2).u8(1).u8(2).finish();
    assert.equal(full.length, 2);
    assert.equal(full.buffer.byteLength, 2);
  });

  test("a fixed field of the wrong length is a programming error", () => {
    assert.throws(() => new Writer(8).fixed(new Uint8Array(3), 4), RangeError);
    assert.throws(() => new Writer(8).fixed(new Uint8Array(5), 4), RangeError);
  });

  test("an empty string and empty bytes are a single zero length byte", () => {
    assert.equal(toHex(new Writer(4).string("", 64).bytesField(new Uint8Array(0)).finish()), "0000");
  });
});

describe("Reader", () => {
  test("u8 past the end is truncated", () => {
    const r = new Reader(fromHex("07"));
    assert.equal(r.u8("a"), 7);
    assertWireError(() => r.u8("b"), "truncated");
  });

  test("the offset argument starts reading part way in", () => {
    const r = new Reader(fromHex("ff ff 2a"), 2);
    assert.equal(r.remaining, 1);
    assert.equal(r.u8("x"), 42);
  });

  test("fixed hands out a view of the input, not a copy", () => {
    const input = fromHex("00 11 22 33 44");
    const r = new Reader(input);
    r.u8("skip");
    const view = r.fixed("f", 3);
    assert.equal(toHex(view), "112233");
    assert.equal(view.buffer, input.buffer);
    assert.equal(view.byteOffset, input.byteOffset + 1);
    input[2] = 0x99; // a view sees later writes to the input
    assert.equal(view[1], 0x99);
    assert.equal(r.remaining, 1);
  });

  test("fixed with too few bytes is truncated and consumes nothing", () => {
    const r = new Reader(fromHex("0102"));
    assertWireError(() => r.fixed("f", 3), "truncated");
    assert.equal(r.remaining, 2);
  });

  test("bytesField returns a view of exactly the claimed length", () => {
    const input = fromHex("03 aabbcc dd");
    const r = new Reader(input);
    const field = r.bytesField("b", 16);
    assert.equal(toHex(field), "aabbcc");
    assert.equal(field.buffer, input.buffer);
    assert.equal(r.remaining, 1);
  });

  test("a length over the field cap is oversized before availability is considered", () => {
    // Claims 2^40 bytes with 2 present: the claim is refused from the varint alone. (Had the reader
    // tried to allocate 2^40 bytes it would have met a RangeError, not this WireError.)
    assertWireError(() => new Reader(fromHex("808080808020 0102")).bytesField("b", 1024), "oversized");
    assertWireError(() => new Reader(fromHex("ffffffffffffff0f")).bytesField("b", 1024), "oversized");
    // One over the cap, with every claimed byte present: still oversized.
    const over = new Writer(16).varint(9).rest(new Uint8Array(9)).finish();
    assertWireError(() => new Reader(over).bytesField("b", 8), "oversized");
  });

  test("a length within the cap but past the end is truncated", () => {
    assertWireError(() => new Reader(fromHex("05 0102")).bytesField("b", 1024), "truncated");
    assertWireError(() => new Reader(fromHex("e807")).bytesField("b", 1024), "truncated");
  });

  test("strings decode UTF-8, including astral characters", () => {
    const text = "héllo ✓ \u{1F389}";
    const r = new Reader(new Writer(64).string(text, 64).finish());
    assert.equal(r.string("s", 64), text);
    assert.equal(r.remaining, 0);
  });

  test("a leading U+FEFF is part of the string, not a byte order mark to drop", () => {
    const text = "\uFEFFbye";
    assert.equal(new Reader(new Writer(16).string(text, 16).finish()).string("s", 16), text);
  });

  test("invalid UTF-8 is malformed", () => {
    // lone continuation byte, truncated 2-byte sequence, invalid byte, overlong "/", UTF-16 surrogate
    for (const hex of ["0180", "01c3", "01ff", "02c0af", "03eda080", "04f4908080"]) {
      assertWireError(() => new Reader(fromHex(hex)).string("s", 64), "malformed");
    }
  });

  test("string length cap counts bytes, not characters", () => {
    const bytes = new Writer(16).string("éé", 16).finish(); // 4 bytes
    assert.equal(new Reader(bytes).string("s", 4), "éé");
    assertWireError(() => new Reader(bytes).string("s", 3), "oversized");
  });

  test("rest takes everything left as a view, then nothing", () => {
    const input = fromHex("01 020304");
    const r = new Reader(input);
    r.u8("a");
    const rest = r.rest();
    assert.equal(toHex(rest), "020304");
    assert.equal(rest.buffer, input.buffer);
    assert.equal(r.remaining, 0);
    assert.equal(r.rest().length, 0);
  });

  test("end passes when consumed exactly and calls trailing bytes malformed", () => {
    const r = new Reader(fromHex("0102"));
    r.u8("a");
    assertWireError(() => r.end("Test"), "malformed");
    r.u8("b");
    assert.doesNotThrow(() => r.end("Test"));
  });
});

describe("WireError", () => {
  test("is a ProtocolError with a stable reason and code", () => {
    const error = new WireError("oversized", "agent: 2000 bytes exceeds 1024");
    assert.ok(error instanceof ProtocolError);
    assert.ok(error instanceof IrisError);
    assert.equal(error.code, "PROTOCOL");
    assert.equal(error.reason, "oversized");
    assert.equal(error.name, "WireError");
    assert.match(error.message, /^oversized: agent/);
  });
});

test("Writer.string refuses text over its cap instead of writing what no decoder accepts", () => {
  assert.throws(() => new Writer(64).string("éé", 3), RangeError);
  assert.equal(toHex(new Writer(8).string("éé", 4).finish()), "04c3a9c3a9");
});
