// A deterministic in-memory RTCDataChannel pair for the data channel link's tests. It models what the
// link must cope with in real stacks:
// - send() queues; a "network" moves at most `bytesPerTurn` bytes per macrotask turn to the other end,
//   lowering bufferedAmount and firing `bufferedamountlow` when it falls to the threshold (optional);
// - close() discards whatever is still queued, as RTCDataChannel.close() may, then closes both ends;
// - it records every message size and the largest bufferedAmount ever reached, for assertions.

import type { DataChannelLike } from "../../../core/transports/webrtc-link.ts";

export interface FakeChannelOptions {
  /** Bytes the network moves per macrotask turn, whole messages only (at least one). */
  bytesPerTurn?: number;
  /** Whether bufferedamountlow fires; false models a stack that lacks it. */
  lowEvent?: boolean;
  /** Deliver ArrayBuffers (browsers) or Uint8Arrays (werift's Buffers). */
  deliver?: "arraybuffer" | "uint8array";
}

type Listener = (event: { type: string; data?: unknown }) => void;

export class FakeDataChannel implements DataChannelLike {
  readonly label: string;
  readyState = "open";
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = "blob";
  peer!: FakeDataChannel;
  /** Sizes of the messages handed to send(), in order. */
  readonly sentSizes: number[] = [];
  /** The largest bufferedAmount ever reached. */
  maxBufferedAmount = 0;
  /** Messages discarded by close() before they were transmitted. */
  dropped = 0;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly queue: Uint8Array[] = [];
  private transmitting = false;
  private paused = false;
  private readonly bytesPerTurn: number;
  private readonly lowEvent: boolean;
  private readonly deliver: "arraybuffer" | "uint8array";

  constructor(label: string, options: FakeChannelOptions = {}) {
    this.label = label;
    this.bytesPerTurn = options.bytesPerTurn ?? 64 * 1024;
    this.lowEvent = options.lowEvent ?? true;
    this.deliver = options.deliver ?? "arraybuffer";
  }

  addEventListener(type: string, listener: Listener): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  send(data: Uint8Array<ArrayBuffer>): void {
    if (this.readyState !== "open") throw new Error(`InvalidStateError: channel is ${this.readyState}`);
    // A copy, as the network would make; the sender's buffer is its own again.
    this.queue.push(data.slice());
    this.sentSizes.push(data.length);
    this.bufferedAmount += data.length;
    this.maxBufferedAmount = Math.max(this.maxBufferedAmount, this.bufferedAmount);
    this.startTransmitting();
  }

  close(): void {
    if (this.readyState === "closing" || this.readyState === "closed") return;
    this.readyState = "closing";
    this.dropped += this.queue.length;
    this.queue.length = 0;
    this.bufferedAmount = 0;
    setImmediate(() => {
      this.closeNow();
      this.peer.closeNow();
    });
  }

  /** The transport under both ends vanished: no more data, both ends see `close`, nothing else. */
  kill(): void {
    this.queue.length = 0;
    this.peer.queue.length = 0;
    this.bufferedAmount = 0;
    this.peer.bufferedAmount = 0;
    this.closeNow();
    this.peer.closeNow();
  }

  private closeNow(): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.queue.length = 0;
    this.emit("close", {});
  }

  /** Stops the network from moving this end's messages until resume(): a congested path. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.startTransmitting();
  }

  private startTransmitting(): void {
    if (this.transmitting || this.paused) return;
    this.transmitting = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.transmitting = false;
    if (this.readyState !== "open" || this.paused) return;
    let budget = this.bytesPerTurn;
    while (this.queue.length > 0 && budget > 0) {
      const message = this.queue.shift()!;
      budget -= message.length;
      const before = this.bufferedAmount;
      this.bufferedAmount -= message.length;
      if (this.peer.readyState === "open") {
        const data = this.deliver === "arraybuffer" ? message.buffer : message;
        this.peer.emit("message", { data });
      }
      if (this.lowEvent && before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) {
        this.emit("bufferedamountlow", {});
      }
      if (this.readyState !== "open") return;
    }
    if (this.queue.length > 0) this.startTransmitting();
  }

  private emit(type: string, fields: { data?: unknown }): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ type, ...fields });
  }
}

/** Two connected channel ends. */
export function fakeChannelPair(options: FakeChannelOptions = {}, optionsB: FakeChannelOptions = options): [FakeDataChannel, FakeDataChannel] {
  const a = new FakeDataChannel("a", options);
  const b = new FakeDataChannel("b", optionsB);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
