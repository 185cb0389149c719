import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toHex } from "../../../core/util/bytes.ts";
import { HexCache } from "../../../core/util/hex-cache.ts";

describe("HexCache", () => {
  it("gives toHex's string for every id, found again or made anew", () => {
    const cache = new HexCache(4);
    const ids = Array.from({ length: 50 }, (_, i) => Uint8Array.from({ length: 16 }, (_, j) => (i * 31 + j * 7) & 255));
    for (let round = 0; round < 3; round++) for (const id of ids) assert.equal(cache.hex(id), toHex(id));
  });

  it("returns the same string object for an id it holds", () => {
    const cache = new HexCache(16);
    const id = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const first = cache.hex(id);
    assert.equal(cache.hex(Uint8Array.from(id)), first);
  });

  it("tells apart ids that share a slot, and lengths that share a prefix", () => {
    const cache = new HexCache(1);
    const a = Uint8Array.from([9, 1, 1, 9]);
    const b = Uint8Array.from([9, 2, 2, 9]);
    const short = Uint8Array.from([9, 1, 9]);
    assert.equal(cache.hex(a), "09010109");
    assert.equal(cache.hex(b), "09020209");
    assert.equal(cache.hex(short), "090109");
    assert.equal(cache.hex(a), "09010109");
    assert.equal(cache.hex(new Uint8Array(0)), "");
  });

  it("keeps a copy, not the caller's bytes, which may be overwritten later", () => {
    const cache = new HexCache(8);
    const frame = Uint8Array.from([0xaa, 0xbb, 0xcc, 0xdd]);
    assert.equal(cache.hex(frame.subarray(0, 4)), "aabbccdd");
    frame[1] = 0x00;
    assert.equal(cache.hex(frame), "aa00ccdd");
    assert.equal(cache.hex(Uint8Array.from([0xaa, 0xbb, 0xcc, 0xdd])), "aabbccdd");
  });
});
