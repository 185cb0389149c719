// Benchmark payloads: random bytes (so nothing compresses) with a sequence number in the first four,
// which lets the subscriber tell warm-up from measured traffic and notice loss or reordering.

const SEQ_BYTES = 4;

export function randomTemplate(size: number): Uint8Array {
  if (size < SEQ_BYTES)
    throw new RangeError(`payloads carry a ${SEQ_BYTES}-byte sequence number; ${size} is too small`);
  return crypto.getRandomValues(new Uint8Array(size));
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
