// The receiver's replay window for sealed messages. A message is accepted once: its id must be new, and
// its timestamp inside [now - window, now + skew].
//
// Message ids are a sender's epoch and counter (message-ids.ts), so "new" is decided per sender, in
// constant time and without a string per message: one bit per counter, in chunks of CHUNK_COUNTERS
// counters. A message may arrive long after later ones of its sender (a relay places a request again on
// another member seconds after it was first sent), so nothing is refused for being "too far behind":
// every counter stays recorded for as long as its messages' timestamps are inside the window. A chunk
// whose newest timestamp has left the window is dropped, and the counters up to it are refused as stale
// from then on (a sender's timestamps grow with its counter, so they are stale anyway).
//
// Memory is bounded: at most `senders` senders and `chunks` chunks in all. Past either, the sender heard
// from least recently is forgotten, and the floor rises to the newest timestamp it had sent: anything at
// or below the floor is refused as stale, so a forgotten sender's messages can never be replayed.
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
  /** Most chunks of CHUNK_COUNTERS counters remembered at once, all senders together. */
  chunks?: number;
}

export type ReplayVerdict = "fresh" | "replayed" | "stale" | "future" | "overtaken";

/** Counters per chunk: 512 bytes of bits. */
export const CHUNK_COUNTERS = 4096;
/** How long a sender may go unheard before a message from it moves it back to the young end of the order. */
const REFRESH_MS = 1000;

class Chunk {
  readonly seen = new Uint32Array(CHUNK_COUNTERS / 32);
  newest = Number.NEGATIVE_INFINITY;
}

class SenderWindow {
  /** Another sender whose epoch shares this one's map key. */
  next: SenderWindow | null = null;
  /** Chunks by index (counter / CHUNK_COUNTERS), in the order they were made. */
  readonly chunks = new Map<number, Chunk>();
  /** Counters below this belong to chunks dropped as expired: stale. */
  floorCounter = 0;
  newest = Number.NEGATIVE_INFINITY;
  heardAt: number;
  /** The last counter delivered per stream, for per-sender order. */
  streams: Map<object, number> | null = null;

  constructor(
    readonly epochHigh: number,
    readonly epochLow: number,
    now: number,
  ) {
    this.heardAt = now;
  }
}

export class ReplayWindow {
  readonly windowMs: number;
  readonly skewMs: number;
  readonly capacity: number;
  readonly chunkBudget: number;
  /** Senders by 53 bits of their epoch; the map's order is the order they were last refreshed in. */
  private readonly senders = new Map<number, SenderWindow>();
  private senderCount = 0;
  private chunkCount = 0;
  private floor = Number.NEGATIVE_INFINITY;

  constructor(options: ReplayWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 120_000;
    this.skewMs = options.skewMs ?? 30_000;
    this.capacity = options.senders ?? 16_384;
    this.chunkBudget = options.chunks ?? 16_384;
  }

  /** Senders remembered now. */
  get size(): number {
    return this.senderCount;
  }

  /** Chunks of counters remembered now, all senders together (each holds CHUNK_COUNTERS bits). */
  get chunks(): number {
    return this.chunkCount;
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
    if (counter < sender.floorCounter) return "stale";
    const index = Math.floor(counter / CHUNK_COUNTERS);
    let chunk = sender.chunks.get(index);
    if (!chunk) {
      chunk = new Chunk();
      sender.chunks.set(index, chunk);
      this.chunkCount++;
      this.expire(sender, now);
      while (this.chunkCount > this.chunkBudget && this.forgetOldest(sender)) {}
      // One sender alone over the budget: its own oldest counters go, refused as stale from now on.
      while (this.chunkCount > this.chunkBudget) this.dropOldestChunk(sender, chunk);
    }
    const bit = counter % CHUNK_COUNTERS;
    const word = bit >>> 5;
    const mask = 1 << (bit & 31);
    if ((chunk.seen[word]! & mask) !== 0) return "replayed";
    chunk.seen[word]! |= mask;
    if (timestamp > chunk.newest) chunk.newest = timestamp;
    if (timestamp > sender.newest) sender.newest = timestamp;
    if (stream !== undefined) {
      const streams = (sender.streams ??= new Map());
      if (counter <= (streams.get(stream) ?? 0)) return "overtaken";
      streams.set(stream, counter);
    }
    return "fresh";
  }

  /** Drops the sender's chunks whose newest message has left the window, oldest first. */
  private expire(sender: SenderWindow, now: number): void {
    const horizon = now - this.windowMs;
    for (const [index, chunk] of sender.chunks) {
      if (chunk.newest >= horizon || chunk.newest === Number.NEGATIVE_INFINITY) break;
      sender.chunks.delete(index);
      this.chunkCount--;
      const above = (index + 1) * CHUNK_COUNTERS;
      if (above > sender.floorCounter) sender.floorCounter = above;
    }
  }

  private dropOldestChunk(sender: SenderWindow, keep: Chunk): void {
    for (const [index, chunk] of sender.chunks) {
      if (chunk === keep) continue;
      sender.chunks.delete(index);
      this.chunkCount--;
      const above = (index + 1) * CHUNK_COUNTERS;
      if (above > sender.floorCounter) sender.floorCounter = above;
      return;
    }
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
    while (this.senderCount >= this.capacity && this.forgetOldest(null)) {}
    this.forgetExpired(now);
    sender = new SenderWindow(high, low, now);
    // The chain may have been forgotten just now.
    sender.next = this.senders.get(key) ?? null;
    this.senders.set(key, sender);
    this.senderCount++;
    return sender;
  }

  /** Forgets the sender heard from least recently whose newest message has left the window, if any. */
  private forgetExpired(now: number): void {
    const oldest = this.senders.entries().next();
    if (oldest.done) return;
    for (let sender: SenderWindow | null = oldest.value[1]; sender; sender = sender.next) {
      if (sender.newest >= now - this.windowMs) return;
    }
    this.forgetChain(oldest.value[0], oldest.value[1], false);
  }

  /**
   * Forgets the sender heard from least recently (its whole key chain), raising the floor to its newest
   * timestamp. Never the one being served (`keep`); false when there is nothing else to forget.
   */
  private forgetOldest(keep: SenderWindow | null): boolean {
    for (const [key, chain] of this.senders) {
      let holdsKeep = false;
      for (let sender: SenderWindow | null = chain; sender; sender = sender.next) if (sender === keep) holdsKeep = true;
      if (holdsKeep) continue;
      this.forgetChain(key, chain, true);
      return true;
    }
    return false;
  }

  private forgetChain(key: number, chain: SenderWindow, raiseFloor: boolean): void {
    this.senders.delete(key);
    for (let sender: SenderWindow | null = chain; sender; sender = sender.next) {
      this.senderCount--;
      this.chunkCount -= sender.chunks.size;
      if (raiseFloor && sender.newest > this.floor) this.floor = sender.newest;
    }
  }
}
