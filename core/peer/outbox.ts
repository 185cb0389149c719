// The peer's outbound queue. Frames go straight to the link while it is attached and its buffer is under
// the high-water mark; otherwise they wait here in order, and their writers' promises wait with them.
// That is the backpressure an application feels when it awaits publish() or tunnel.send(). Frames wait
// across a reconnect: nothing queued here is lost to a dropped link.

import type { Clock, TimerHandle } from "../util/clock.ts";
import { ClosedError, TimeoutError } from "../errors.ts";
import type { Link } from "../transports/link.ts";

interface Entry {
  /** Null for a writer that only waits for room (see room()). */
  frame: Uint8Array | null;
  onSent: (() => void) | undefined;
  resolve(): void;
  reject(error: unknown): void;
  timer: TimerHandle | null;
  done: boolean;
  /** The waiter's signal and the listener that withdraws it when the signal aborts. */
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

const RESOLVED = Promise.resolve();
/** A writer that never has to wait still gets a turn of the event loop this often. */
const YIELD_EVERY_MS = 10;

export class Outbox {
  private link: Link | null = null;
  private readonly queue: Entry[] = [];
  private head = 0;
  private pollTimer: TimerHandle | null = null;
  private closedWith: Error | null = null;
  private lastYield = 0;

  constructor(
    private readonly clock: Clock,
    /** A turn of the event loop for a writer that never has to wait (util/scheduling.ts). */
    private readonly yieldToEventLoop: () => Promise<void>,
    private readonly highWaterMark: number,
    /** Browsers have no drain event for WebSocket, so a full buffer is polled at this interval. */
    private readonly pollMs = 4,
  ) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  attach(link: Link): void {
    this.link = link;
    this.pump();
  }

  detach(): void {
    this.link = null;
    this.stopPolling();
  }

  /** Whether a frame written now would go straight to the link: attached, nothing queued, under its mark. */
  hasRoom(): boolean {
    const link = this.link;
    return link !== null && this.pending === 0 && link.bufferedAmount < this.highWaterMark;
  }

  /** Resolved at once, except a real turn of the event loop every YIELD_EVERY_MS (see write). */
  pace(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastYield < YIELD_EVERY_MS) return RESOLVED;
    this.lastYield = now;
    return this.yieldToEventLoop();
  }

  /**
   * Queues a frame behind everything written before it. Resolves once the frame is handed to a link
   * (`onSent` is called at that very moment); rejects with TimeoutError if that has not happened
   * within `timeoutMs`.
   */
  write(frame: Uint8Array, timeoutMs?: number, timeoutError?: TimeoutError, onSent?: () => void): Promise<void> {
    return this.enqueue(frame, timeoutMs, timeoutError, onSent);
  }

  /**
   * Resolves once a frame written now would go straight to the link, in turn with the writes before it:
   * a write of nothing. Senders that gather messages before framing them (message-batches.ts) wait here.
   * An aborted `signal` withdraws the waiter and rejects with its reason.
   */
  room(timeoutMs?: number, timeoutError?: TimeoutError, signal?: AbortSignal): Promise<void> {
    return this.enqueue(null, timeoutMs, timeoutError, undefined, signal);
  }

  private enqueue(
    frame: Uint8Array | null,
    timeoutMs?: number,
    timeoutError?: TimeoutError,
    onSent?: () => void,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const link = this.link;
    if (link && this.pending === 0 && link.bufferedAmount < this.highWaterMark) {
      if (frame) link.send(frame);
      onSent?.();
      // The socket keeps up, so nothing makes the writer wait; make it wait a turn now and then, or it
      // starves the event loop (no reads, no timers, no heartbeats) for as long as it has data.
      return this.pace();
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = { frame, onSent, resolve, reject, timer: null, done: false, signal, onAbort: null };
      if (signal) {
        entry.onAbort = () => this.settle(entry, signal.reason);
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      if (timeoutMs !== undefined) {
        entry.timer = this.clock.setTimeout(() => {
          if (entry.done) return;
          entry.done = true;
          const why = this.link ? "the relay link stayed full" : "no relay to send to";
          reject(timeoutError ?? new TimeoutError(`not sent within ${timeoutMs} ms: ${why}`));
        }, timeoutMs);
      }
      this.queue.push(entry);
      this.pump();
    });
  }

  /** Sends a small control frame at once, ahead of queued data; dropped if no link is attached. */
  sendNow(frame: Uint8Array): boolean {
    if (!this.link) return false;
    this.link.send(frame);
    return true;
  }

  /**
   * Resolves once every frame written so far has been handed to the link and the link holds nothing
   * more: all of it has gone to the network, where a process exiting next cannot lose it. That is what
   * Connection.close() waits for. It stops waiting (and resolves) when no link is attached, since
   * nothing can go out then, or when nothing has moved for `stallMs`.
   */
  flush(stallMs: number): Promise<void> {
    return new Promise((resolve) => {
      let lastPending = Number.POSITIVE_INFINITY;
      let lastBuffered = Number.POSITIVE_INFINITY;
      let lastProgress = this.clock.now();
      const check = () => {
        const link = this.link;
        if (!link || link.closed) return resolve();
        this.pump();
        const buffered = link.bufferedAmount;
        if (this.pending === 0 && buffered === 0) return resolve();
        const now = this.clock.now();
        if (this.pending < lastPending || buffered < lastBuffered) lastProgress = now;
        else if (now - lastProgress >= stallMs) return resolve();
        lastPending = this.pending;
        lastBuffered = buffered;
        this.clock.setTimeout(check, this.pollMs);
      };
      check();
    });
  }

  /** Fails every queued write. */
  close(error: Error = new ClosedError("connection closed")): void {
    this.closedWith = error;
    this.detach();
    for (let i = this.head; i < this.queue.length; i++) this.settle(this.queue[i]!, error);
    this.queue.length = 0;
    this.head = 0;
  }

  private pump(): void {
    const link = this.link;
    while (link && this.head < this.queue.length && link.bufferedAmount < this.highWaterMark) {
      const entry = this.queue[this.head++]!;
      if (entry.done) continue;
      if (entry.frame) link.send(entry.frame);
      entry.onSent?.();
      this.settle(entry);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (link && this.pending > 0) this.startPolling();
    else this.stopPolling();
  }

  private settle(entry: Entry, error?: unknown): void {
    if (entry.done) return;
    entry.done = true;
    if (entry.timer !== null) this.clock.clearTimeout(entry.timer);
    if (entry.onAbort) entry.signal?.removeEventListener("abort", entry.onAbort);
    if (error) entry.reject(error);
    else entry.resolve();
  }

  private startPolling(): void {
    if (this.pollTimer !== null) return;
    this.pollTimer = this.clock.setTimeout(() => {
      this.pollTimer = null;
      this.pump();
    }, this.pollMs);
  }

  private stopPolling(): void {
    if (this.pollTimer === null) return;
    this.clock.clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }
}
