// Benchmark payloads with a sequence number in the first four bytes, which lets the subscriber tell
// warm-up from measured traffic and notice loss or reordering. The rest is random bytes (nothing
// compresses) or JSON-like text: records of the same shape with varying numbers, as an application's
// messages look, which compresses several times over.

import type { PayloadKind } from "../protocol.ts";

const SEQ_BYTES = 4;

export function template(kind: PayloadKind, size: number): Uint8Array {
  if (size < SEQ_BYTES)
    throw new RangeError(`payloads carry a ${SEQ_BYTES}-byte sequence number; ${size} is too small`);
  return kind === "random" ? crypto.getRandomValues(new Uint8Array(size)) : jsonLike(size);
}

export function randomTemplate(size: number): Uint8Array {
  return template("random", size);
}

/** Text of records like {"id":1042,"sensor":"s-17","celsius":21.375,...}, cut to `size` bytes. */
function jsonLike(size: number): Uint8Array {
  // A fixed pseudo-random sequence (a linear congruential generator), so every run sends the same text.
  let state = 0x2545f491;
  const next = (below: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % below;
  };
  const states = ["ok", "warn", "idle", "busy"];
  let text = "[";
  for (let id = 1000; text.length < size; id++) {
    text +=
      `{"id":${id},"sensor":"s-${next(64)}","celsius":${(15 + next(20_000) / 1000).toFixed(3)},` +
      `"humidity":${next(100)},"state":"${states[next(states.length)]}","at":${1_764_000_000_000 + next(1e9)}},\n`;
  }
  return new TextEncoder().encode(text).slice(0, size);
}

/** A fresh copy per message: a client may still hold the previous one (nats.js queues references). */
export function numbered(template: Uint8Array, seq: number): Uint8Array {
  const message = template.slice();
  new DataView(message.buffer, message.byteOffset, SEQ_BYTES).setUint32(0, seq);
  return message;
}

export function sequenceOf(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset, SEQ_BYTES).getUint32(0);
}
