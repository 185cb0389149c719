// Compression, both backends (fflate everywhere, zlib in Node): deflate only when it pays; inflate only to
// exactly the declared size, under a cap; the two read each other's streams.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { deflateSync, inflateSync } from "fflate";
import { fflateCompression } from "../../../core/crypto/compress.ts";
import type { CompressionBackend } from "../../../core/crypto/compress.ts";
import { zlibCompression } from "../../../core/crypto/compress.node.ts";
import { randomBytes, toHex, utf8 } from "../../../core/util/bytes.ts";

const MiB = 1024 * 1024;
const compressible = utf8("lorem ipsum dolor sit amet, ".repeat(4000)); // 112,000 bytes

/** Compressible but not trivially so: a seeded walk over a small alphabet, so the stream spans many slices. */
function textLike(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = 7;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = 97 + (state >>> 28);
  }
  return out;
}

function assertRangeError(fn: () => unknown, what: string, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RangeError, `${what}: expected RangeError, got ${String(error)}`);
    if (pattern) assert.match(error.message, pattern, what);
    return true;
  });
}

for (const backend of [fflateCompression, zlibCompression] as CompressionBackend[]) {
  const deflate = (input: Uint8Array) => backend.deflate(input);
  const inflateCapped = (input: Uint8Array, declared: number, cap: number) => backend.inflate(input, declared, cap);
  const other = backend === fflateCompression ? zlibCompression : fflateCompression;

  describe(`${backend.name}: the other backend's streams`, () => {
    test("each inflates what the other deflated", () => {
      const theirs = other.deflate(compressible)!;
      assert.equal(toHex(inflateCapped(theirs, compressible.length, MiB)), toHex(compressible));
      const ours = deflate(compressible)!;
      assert.equal(toHex(other.inflate(ours, compressible.length, MiB)), toHex(compressible));
    });
  });

  describe(`${backend.name}: deflate`, () => {
    test("shrinks compressible input into raw DEFLATE", () => {
      const out = deflate(compressible);
      assert.ok(out, "compressible input compresses");
      assert.ok(out.length < compressible.length / 20, `${out.length} bytes`);
      assert.equal(toHex(inflateSync(out)), toHex(compressible));
    });

    test("returns null when deflating would not shrink the input", () => {
      assert.equal(deflate(randomBytes(4096)), null);
      assert.equal(deflate(new Uint8Array(0)), null);
      assert.equal(deflate(Uint8Array.of(1)), null);
    });
  });

  describe(`${backend.name}: inflate`, () => {
    test("inflates to exactly the declared length", () => {
      const compressed = deflate(compressible)!;
      assert.equal(toHex(inflateCapped(compressed, compressible.length, compressible.length)), toHex(compressible));
    });

    test("a stream fed in many slices", () => {
      const input = textLike(200_000);
      const compressed = deflateSync(input);
      assert.ok(compressed.length > 10 * 1024, `the stream spans many 1 KiB slices (${compressed.length} bytes)`);
      assert.equal(toHex(inflateCapped(compressed, input.length, MiB)), toHex(input));
    });

    test("an empty body", () => {
      assert.equal(inflateCapped(deflateSync(new Uint8Array(0)), 0, 0).length, 0);
    });

    test("a declared length longer than the stream is refused", () => {
      const compressed = deflate(compressible)!;
      assertRangeError(() => inflateCapped(compressed, compressible.length + 1, MiB), "one more", /inflates to/);
      assertRangeError(() => inflateCapped(compressed, 2 * compressible.length, MiB), "double");
    });

    test("a declared length shorter than the stream is refused", () => {
      const compressed = deflate(compressible)!;
      assertRangeError(() => inflateCapped(compressed, compressible.length - 1, MiB), "one less", /past its declared/);
      assertRangeError(() => inflateCapped(compressed, 0, MiB), "zero", /past its declared/);
    });

    test("a declared length over the cap is refused before any work", () => {
      // Junk input: had it been inflated, the error would be about corrupt data; had the declared size been
      // allocated, 2^50 bytes would have failed as an invalid typed array length.
      const junk = new Uint8Array(16).fill(0xff);
      for (const declared of [MiB + 1, 2 ** 50]) {
        assertRangeError(() => inflateCapped(junk, declared, MiB), `declared ${declared}`, /exceeds the cap/);
      }
      const compressed = deflate(compressible)!;
      assertRangeError(() => inflateCapped(compressed, compressible.length, compressible.length - 1), "cap", /cap/);
    });

    test("corrupt or incomplete data is refused", () => {
      const compressed = deflate(compressible)!;
      const cases: Array<[string, Uint8Array]> = [
        ["invalid block type", Uint8Array.of(0xff, 0xff, 0xff)],
        ["truncated stream", compressed.subarray(0, compressed.length >> 1)],
        ["only the first byte", compressed.subarray(0, 1)],
        ["empty input", new Uint8Array(0)],
        ["stored block cut short", Uint8Array.of(0x01, 0x05, 0x00, 0xfa, 0xff, 1, 2)],
      ];
      for (const [what, input] of cases) assertRangeError(() => inflateCapped(input, compressible.length, MiB), what);
    });

    test("a bomb stops at the declared length instead of inflating it all", () => {
      const content = deflateSync(new Uint8Array(20_000_000), { level: 4 });
      assertRangeError(() => inflateCapped(content, 1000, 64 * MiB), "bomb", /past its declared/);
      // Declaring the truth, under a cap that allows it, is fine: the check is the declaration, not size.
      assert.equal(inflateCapped(content, 20_000_000, 64 * MiB).length, 20_000_000);
    });
  });
}
