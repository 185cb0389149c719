// Per-sender FIFO for broadcasts and publishes. Each sender numbers its messages per cluster or topic;
// receivers deliver a sender's messages only in increasing order and drop any that arrive after a
// later one. Order holds even when a sender reconnects through another relay and its new messages
// overtake older ones still on the old path: the late ones are dropped, which at-most-once delivery
// allows. The numbers travel inside the seal, so no relay can alter them.

import { randomBytes, toHex } from "../../util/bytes.ts";
import { Reader, Writer, varintSize } from "../../wire/codec.ts";

const EPOCH_BYTES = 4;
/** Receivers remember this many (sender, stream) positions; the oldest are forgotten first. */
const REMEMBERED_STREAMS = 10_000;

/** The sending side: one epoch per connection (a restarted sender starts a new order), a counter per stream. */
export class SendSequence {
  private readonly epoch = randomBytes(EPOCH_BYTES);
  private readonly counters = new Map<string, number>();

  /** The body with its place in the sender's order in front. */
  stamp(streamId: Uint8Array, body: Uint8Array): Uint8Array {
    const key = toHex(streamId);
    const seq = this.counters.get(key) ?? 0;
    this.counters.set(key, seq + 1);
    return new Writer(EPOCH_BYTES + varintSize(seq) + body.length)
      .fixed(this.epoch, EPOCH_BYTES)
      .varint(seq)
      .rest(body)
      .finish();
  }
}

export interface Stamped {
  epoch: string;
  seq: number;
  body: Uint8Array;
}

export function readStamp(plain: Uint8Array): Stamped {
  const r = new Reader(plain);
  const epoch = toHex(r.fixed("epoch", EPOCH_BYTES));
  const seq = r.varint("seq");
  return { epoch, seq, body: r.rest() };
}

/** The receiving side: the last position seen per sender and stream. */
export class ReceiveOrder {
  private readonly last = new Map<string, { epoch: string; seq: number }>();

  /** Whether a message may be delivered: false when one after it from the same sender came first. */
  accept(originHex: string, streamHex: string, stamp: Stamped): boolean {
    const key = `${originHex}:${streamHex}`;
    const previous = this.last.get(key);
    if (previous && previous.epoch === stamp.epoch && stamp.seq <= previous.seq) return false;
    this.last.delete(key);
    this.last.set(key, { epoch: stamp.epoch, seq: stamp.seq });
    if (this.last.size > REMEMBERED_STREAMS) this.last.delete(this.last.keys().next().value!);
    return true;
  }
}

/** What the stamp adds to a body at most. */
export const STAMP_OVERHEAD = EPOCH_BYTES + 8;
