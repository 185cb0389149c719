// The bytes of a stream benchmark (a tunnel, or raw WebSocket forwarding): messages cut from a pool of
// random bytes (so nothing compresses), each starting with its index so a reordering changes the hash;
// and the tally a receiver keeps: bytes, messages, SHA-256 of everything in order, first and last times.

import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import type { StreamReport } from "../protocol.ts";

const POOL_BYTES = 4 * 1024 * 1024;

export const epochNow = () => performance.timeOrigin + performance.now();

/** Message `index` of a stream: a fresh copy, since a sender may still hold the previous one. */
export class StreamSource {
  private readonly pool = new Uint8Array(POOL_BYTES);

  constructor() {
    // getRandomValues fills at most 64 KiB per call.
    for (let at = 0; at < POOL_BYTES; at += 65_536) crypto.getRandomValues(this.pool.subarray(at, at + 65_536));
  }

  message(index: number, size: number): Uint8Array {
    const start = (index * 7919 * 64) % (POOL_BYTES - size);
    const message = this.pool.slice(start, start + size);
    if (size >= 4) new DataView(message.buffer).setUint32(0, index);
    return message;
  }
}

/** What a receiver has seen so far. */
export class StreamTally {
  private readonly hash: Hash = createHash("sha256");
  readonly report: StreamReport = {
    bytes: 0,
    messages: 0,
    sha256: "",
    firstAt: 0,
    lastAt: 0,
    done: false,
    error: null,
    pausedMs: 0,
  };

  add(message: Uint8Array): void {
    const now = epochNow();
    if (this.report.messages === 0) this.report.firstAt = now;
    this.report.lastAt = now;
    this.report.messages++;
    this.report.bytes += message.length;
    this.hash.update(message);
  }

  end(error: string | null): void {
    if (this.report.done) return;
    this.report.done = true;
    this.report.error = error;
    this.report.sha256 = this.hash.digest("hex");
  }
}
