// Many deadlines on one timer. A caller with thousands of requests in flight would otherwise arm and
// clear a timer for each (an object, a closure and a timer-list insert and removal per request, and
// garbage for the scavenger); here every deadline waits in a binary heap ordered by time, and a single
// clock timer is armed for the earliest. Most deadlines are removed long before they fall due, so that
// timer is rarely moved: when it fires early (its deadline left the heap) it is armed again for the
// earliest one left.

import type { Clock, TimerHandle } from "./clock.ts";

/** Something with a deadline; the heap keeps its place in it, so it can be removed in O(log n). */
export interface Timed {
  /** When it falls due, in the clock's milliseconds; set by Deadlines.add. */
  deadline: number;
  /** Its index in the heap, or -1 when it waits in none. */
  heapIndex: number;
}

/** Longest delay a timer takes (2^31 - 1 ms); a later deadline is re-armed when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Deadlines<T extends Timed> {
  private readonly heap: T[] = [];
  private timer: TimerHandle | null = null;
  /** When the armed timer falls due. */
  private armedAt = Number.POSITIVE_INFINITY;
  private readonly onTimer = () => this.fire();

  constructor(
    private readonly clock: Clock,
    /** Called once for each item whose deadline has passed, after it has left the heap. */
    private readonly expire: (item: T) => void,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** `item` falls due `ms` from now. An item waits at most once: adding it again moves its deadline. */
  add(item: T, ms: number): void {
    if (item.heapIndex >= 0) this.remove(item);
    item.deadline = this.clock.now() + ms;
    item.heapIndex = this.heap.length;
    this.heap.push(item);
    this.up(item.heapIndex);
    if (item.deadline < this.armedAt) this.arm();
  }

  /** Takes `item` out before it falls due; nothing happens if it is not waiting. */
  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0 || this.heap[index] !== item) return;
    item.heapIndex = -1;
    const last = this.heap.pop()!;
    if (index < this.heap.length) {
      this.heap[index] = last;
      last.heapIndex = index;
      this.down(index);
      this.up(last.heapIndex);
    }
    // Nothing left to wait for: no timer may keep the process alive for it.
    if (this.heap.length === 0) this.disarm();
  }

  /** Stops the timer and forgets every item, without expiring them. */
  clear(): void {
    for (const item of this.heap) item.heapIndex = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private fire(): void {
    this.timer = null;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    for (;;) {
      const first = this.heap[0];
      if (first === undefined || first.deadline > now) break;
      this.remove(first);
      this.expire(first);
    }
    this.arm();
  }

  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) return this.disarm();
    if (this.timer !== null) {
      if (this.armedAt <= first.deadline) return;
      this.clock.clearTimeout(this.timer);
    }
    this.armedAt = first.deadline;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, first.deadline - this.clock.now()));
    this.timer = this.clock.setTimeout(this.onTimer, delay);
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.armedAt = Number.POSITIVE_INFINITY;
  }

  private up(index: number): void {
    const heap = this.heap;
    const item = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.deadline <= item.deadline) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = item;
    item.heapIndex = index;
  }

  private down(index: number): void {
    const heap = this.heap;
    const item = heap[index]!;
    const n = heap.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && heap[right]!.deadline < heap[child]!.deadline) child = right;
      const next = heap[child]!;
      if (next.deadline >= item.deadline) break;
      heap[index] = next;
      next.heapIndex = index;
      index = child;
    }
    heap[index] = item;
    item.heapIndex = index;
  }
}
