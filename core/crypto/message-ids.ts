// A sender's message ids: [epoch 8 bytes][counter 8 bytes, big-endian]. The epoch is random per
// connection (a restarted sender starts a new one); the counter goes up by one for every sealed message,
// whatever it is for. Inside the seal, where no relay can change them, they let a receiver refuse a
// replay in constant time and constant memory per sender (replay.ts), and keep each sender's broadcasts
// and publishes in the order they were sent.

import { randomBytes } from "../util/bytes.ts";
import { MESSAGE_ID_BYTES } from "./seal.ts";

export const EPOCH_BYTES = 8;

export class MessageIds {
  readonly epoch: Uint8Array = randomBytes(EPOCH_BYTES);
  private counter = 0;

  /** The next id: this sender's epoch and the next counter. */
  next(): Uint8Array {
    const id = new Uint8Array(MESSAGE_ID_BYTES);
    id.set(this.epoch);
    const counter = ++this.counter;
    // Big-endian u64; counters stay below 2^53 (a billion messages a second for a hundred days).
    const high = Math.floor(counter / 2 ** 32);
    const view = new DataView(id.buffer);
    view.setUint32(EPOCH_BYTES, high);
    view.setUint32(EPOCH_BYTES + 4, counter >>> 0);
    return id;
  }
}

/** The counter of a message id; NaN when it is out of the range senders use (no sender makes those). */
export function counterOf(messageId: Uint8Array): number {
  const view = new DataView(messageId.buffer, messageId.byteOffset, messageId.byteLength);
  const high = view.getUint32(EPOCH_BYTES);
  if (high >= 2 ** 21) return Number.NaN;
  return high * 2 ** 32 + view.getUint32(EPOCH_BYTES + 4);
}
