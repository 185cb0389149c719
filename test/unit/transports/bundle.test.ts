// Several frames in one transport message (core/transports/bundle.ts), byte for byte.

import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeBundle, readBundle } from "../../../core/transports/bundle.ts";
import { fromHex, toHex } from "../../../core/util/bytes.ts";
import { WireError } from "../../../core/wire/codec.ts";

function read(hex: string): string[] {
  const frames: string[] = [];
  readBundle(fromHex(hex), (frame) => frames.push(toHex(frame)));
  return frames;
}

test("one frame travels as itself: no marker, no length", () => {
  const frame = fromHex("01 04 2a");
  assert.equal(encodeBundle([frame]), frame, "the very same bytes, not a copy");
  assert.deepEqual(read("01042a"), ["01042a"]);
});

test("several frames: the 0x00 marker, then each frame after its varint length", () => {
  const bundle = encodeBundle([fromHex("0104"), fromHex("01052a"), fromHex("01" + "ff".repeat(129))]);
  assert.equal(toHex(bundle), "00" + "020104" + "0301052a" + "8201" + "01" + "ff".repeat(129));
  assert.deepEqual(read(toHex(bundle)), ["0104", "01052a", "01" + "ff".repeat(129)]);
});

test("a lone frame that is empty or starts with 0x00 travels as a bundle of one", () => {
  assert.equal(toHex(encodeBundle([new Uint8Array(0)])), "0000");
  assert.equal(toHex(encodeBundle([fromHex("0001")])), "00020001");
  assert.deepEqual(read("0000"), [""]);
  assert.deepEqual(read("00020001"), ["0001"]);
  assert.deepEqual(read("00 00 0101 00"), ["", "01", ""]);
});

test("frames are views into the message, delivered in order", () => {
  const message = fromHex("00 02 0104 02 0105");
  const views: Uint8Array[] = [];
  readBundle(message, (frame) => views.push(frame));
  assert.equal(views[0]!.buffer, message.buffer);
  assert.deepEqual(
    views.map((view) => view.byteOffset),
    [2, 5],
  );
});

test("a broken bundle is refused with a WireError; frames before the fault were delivered", () => {
  const refuse = (hex: string, reason: string) => {
    const delivered: string[] = [];
    assert.throws(
      () => readBundle(fromHex(hex), (frame) => delivered.push(toHex(frame))),
      (error: unknown) => error instanceof WireError && error.reason === reason,
      hex,
    );
    return delivered;
  };
  refuse("", "truncated");
  refuse("00", "truncated");
  assert.deepEqual(refuse("00 02 0104 05 0105", "oversized"), ["0104"], "a length past the end");
  refuse("00 80", "truncated");
});
