// Several frames in one transport message. Every message a link carries costs its transport per-message
// work at both ends (a WebSocket frame header, masking, an event, a buffer), which for small frames
// outweighs the frame itself; so frames sent in one turn of the event loop leave together:
//
//   one frame:       [frame]                                  (a frame starts with the wire version, never 0)
//   several frames:  [0x00][varint length][frame][varint length][frame]...
//
// A lone frame that is empty or starts with 0x00 (links carry any bytes; our frames never look like
// that) travels as a bundle of one, so every message reads back exactly.
//
// Pure functions, so the format is tested byte for byte without a socket.

import { Reader, WireError, varintSize, writeVarintAt } from "../wire/codec.ts";

export const BUNDLE_MARKER = 0x00;

/** What a bundle of these frames weighs, marker and length prefixes included. */
export function bundleSize(frames: readonly Uint8Array[]): number {
  let size = 1;
  for (const frame of frames) size += varintSize(frame.length) + frame.length;
  return size;
}

/** One message for the frames: the frame itself when there is one, else a bundle. */
export function encodeBundle(frames: readonly Uint8Array[]): Uint8Array {
  const only = frames.length === 1 ? frames[0]! : null;
  if (only && only.length > 0 && only[0] !== BUNDLE_MARKER) return only;
  const out = new Uint8Array(bundleSize(frames));
  out[0] = BUNDLE_MARKER;
  let offset = 1;
  for (const frame of frames) {
    offset = writeVarintAt(out, offset, frame.length);
    out.set(frame, offset);
    offset += frame.length;
  }
  return out;
}

/**
 * Hands each frame of a message to `deliver`, as views into it, in order. Throws WireError for a bundle
 * that is cut short or claims more than it holds; frames delivered before the fault stand.
 */
export function readBundle(message: Uint8Array, deliver: (frame: Uint8Array) => void): void {
  if (message.length === 0) throw new WireError("truncated", "empty message");
  if (message[0] !== BUNDLE_MARKER) {
    deliver(message);
    return;
  }
  const r = new Reader(message, 1);
  if (r.remaining === 0) throw new WireError("truncated", "bundle without frames");
  while (r.remaining > 0) {
    const length = r.varint("bundled frame length", r.remaining);
    deliver(r.fixed("bundled frame", length));
  }
}
