// The receiver's replay window for sealed messages. A message is accepted once: its id must be new, and
// its timestamp inside [now - window, now + skew].
//
// Message ids are a sender's epoch and counter (message-ids.ts), so "new" is decided per sender, in
// constant time and memory, the way IPsec does it: the highest counter seen, and a bitmap of the `span`
// counters below it. A counter above the highest is new; one inside the bitmap is new once; one further
// back is refused as stale (a sender's messages are never that far out of order). No string is built
// and nothing is stored per message.
//
// Memory is bounded by `senders`; when that many are remembered, the one heard from least recently is
// forgotten, and the floor rises to the newest timestamp it had sent: anything at or below the floor is
// refused as stale, so a forgotten sender's messages can never be replayed successfully.
//
// The same counters keep each sender's broadcasts and publishes in order: given the stream (the topic or
// cluster), a message that arrives after a later one of the same sender and stream is "overtaken".

import { EPOCH_BYTES, counterOf } from "./message-ids.ts";

export interface ReplayWindowOptions {
  /** How far in the past a timestamp may lie. */
  windowMs?: number;
  /** How far in the future a timestamp may lie (clock skew between peers). */
  skewMs?: number;
  /** Most senders remembered at once. */
  senders?: number;
  /** How far behind its newest message a sender's message may arrive and still be accepted (once). */
  span?: number;
}

export type ReplayVerdict = "fresh" | "replayed" | "stale" | "future" | "overtaken";

/** How long a sender may go unheard before a message from it moves it back to the young end of the order. */
const REFRESH_MS = 1000;

class SenderWindow {
  /** Another sender whose epoch shares this one's map key. */
  next: SenderWindow | null = null;
  highest = 0;
  lastTimestamp = Number.NEGATIVE_INFINITY;
  heardAt: number;
  /** Bit `c % span` set: counter c, within `span` of the highest, has been seen. */
  readonly seen: Uint32Array;
  /** The last counter delivered per stream, for per-sender order. */
  streams: Map<object, number> | null = null;

  constructor(
    readonly epochHigh: number,
    readonly epochLow: number,
    span: number,
    now: number,
  ) {
    this.seen = new Uint32Array(span / 32);
    this.heardAt = now;
  }
}

export class ReplayWindow {
  readonly windowMs: number;
  readonly skewMs: number;
  readonly capacity: number;
  readonly span: number;
  /** Senders by 53 bits of their epoch; the map's order is the order they were last refreshed in. */
  private readonly senders = new Map<number, SenderWindow>();
  private count = 0;
  private floor = Number.NEGATIVE_INFINITY;

  constructor(options: ReplayWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 120_000;
    this.skewMs = options.skewMs ?? 30_000;
    this.capacity = options.senders ?? 16_384;
    this.span = options.span ?? 2048;
    if (this.span % 32 !== 0 || this.span <= 0) throw new RangeError("span must be a positive multiple of 32");
  }

  /** Senders remembered now. */
  get size(): number {
    return this.count;
  }

  /**
   * Records the message and says whether it may be delivered. With a `stream`, a message older than the
   * last one delivered from the same sender on that stream is "overtaken".
   */
  check(messageId: Uint8Array, timestamp: number, now: number, stream?: object): ReplayVerdict {
    if (timestamp > now + this.skewMs) return "future";
    if (timestamp < now - this.windowMs || timestamp <= this.floor) return "stale";
    const counter = counterOf(messageId);
    if (!(counter >= 1)) return "stale";
    const sender = this.senderOf(messageId, now);
    if (counter > sender.highest) {
      this.advance(sender, counter);
    } else {
      if (counter <= sender.highest - this.span) return "stale";
      const bit = counter % this.span;
      if ((sender.seen[bit >>> 5]! & (1 << (bit & 31))) !== 0) return "replayed";
    }
    const bit = counter % this.span;
    sender.seen[bit >>> 5]! |= 1 << (bit & 31);
    if (timestamp > sender.lastTimestamp) sender.lastTimestamp = timestamp;
    if (stream !== undefined) {
      const streams = (sender.streams ??= new Map());
      if (counter <= (streams.get(stream) ?? 0)) return "overtaken";
      streams.set(stream, counter);
    }
    return "fresh";
  }

  /** Moves a sender's window up to `counter`, clearing the bits of the counters it skips. */
  private advance(sender: SenderWindow, counter: number): void {
    if (counter - sender.highest >= this.span) {
      sender.seen.fill(0);
    } else {
      for (let c = sender.highest + 1; c <= counter; c++) {
        const bit = c % this.span;
        sender.seen[bit >>> 5]! &= ~(1 << (bit & 31));
      }
    }
    sender.highest = counter;
  }

  private senderOf(messageId: Uint8Array, now: number): SenderWindow {
    const view = new DataView(messageId.buffer, messageId.byteOffset, EPOCH_BYTES);
    const high = view.getUint32(0);
    const low = view.getUint32(4);
    const key = (high & 0x1fffff) * 2 ** 32 + low;
    let sender = this.senders.get(key) ?? null;
    const first = sender;
    while (sender && (sender.epochHigh !== high || sender.epochLow !== low)) sender = sender.next;
    if (sender) {
      if (now - sender.heardAt > REFRESH_MS && first === sender && sender.next === null) {
        // Heard from again: to the young end of the order, so the silent are forgotten first.
        this.senders.delete(key);
        this.senders.set(key, sender);
        sender.heardAt = now;
      }
      return sender;
    }
    this.forgetOld(now);
    sender = new SenderWindow(high, low, this.span, now);
    // The chain may have been forgotten just now.
    sender.next = this.senders.get(key) ?? null;
    this.senders.set(key, sender);
    this.count++;
    return sender;
  }

  /** Makes room for one more sender (raising the floor), and forgets one whose newest message has expired. */
  private forgetOld(now: number): void {
    while (this.count >= this.capacity) this.forgetOldest(true);
    const oldest = this.senders.values().next();
    if (!oldest.done && this.chainExpired(oldest.value, now)) this.forgetOldest(false);
  }

  private chainExpired(sender: SenderWindow | null, now: number): boolean {
    for (; sender; sender = sender.next) if (sender.lastTimestamp >= now - this.windowMs) return false;
    return true;
  }

  private forgetOldest(raiseFloor: boolean): void {
    const oldest = this.senders.entries().next();
    if (oldest.done) return;
    const [key, chain] = oldest.value;
    this.senders.delete(key);
    for (let sender: SenderWindow | null = chain; sender; sender = sender.next) {
      this.count--;
      if (raiseFloor && sender.lastTimestamp > this.floor) this.floor = sender.lastTimestamp;
    }
  }
}
