// The receiver's replay window for sealed messages. A message is accepted once: its id must be new, and
// its timestamp inside [now - window, now + skew]. Memory is bounded by `capacity`; when the table is
// full the oldest ids are forgotten and the floor rises to their timestamp, so a forgotten id can never
// be replayed successfully: anything at or below the floor is refused as stale.

import { toHex } from "../util/bytes.ts";

export interface ReplayWindowOptions {
  /** How far in the past a timestamp may lie. */
  windowMs?: number;
  /** How far in the future a timestamp may lie (clock skew between peers). */
  skewMs?: number;
  /** Most message ids remembered at once. */
  capacity?: number;
}

export type ReplayVerdict = "fresh" | "replayed" | "stale" | "future";

export class ReplayWindow {
  readonly windowMs: number;
  readonly skewMs: number;
  readonly capacity: number;
  // Insertion order is close to timestamp order, which makes eviction from the front cheap.
  private readonly seen = new Map<string, number>();
  private floor = -Infinity;

  constructor(options: ReplayWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 120_000;
    this.skewMs = options.skewMs ?? 30_000;
    this.capacity = options.capacity ?? 200_000;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Records the message and says whether it may be delivered. */
  check(messageId: Uint8Array, timestamp: number, now: number): ReplayVerdict {
    this.expire(now);
    if (timestamp > now + this.skewMs) return "future";
    if (timestamp < now - this.windowMs || timestamp <= this.floor) return "stale";
    const key = toHex(messageId);
    if (this.seen.has(key)) return "replayed";
    this.seen.set(key, timestamp);
    while (this.seen.size > this.capacity) this.evictOldest();
    return "fresh";
  }

  private expire(now: number): void {
    const horizon = now - this.windowMs;
    for (const timestamp of this.seen.values()) {
      if (timestamp >= horizon) break;
      this.evictOldest();
    }
  }

  private evictOldest(): void {
    const first = this.seen.entries().next();
    if (first.done) return;
    const [key, timestamp] = first.value;
    this.seen.delete(key);
    if (timestamp > this.floor) this.floor = timestamp;
  }
}
