// A Link over one RTCDataChannel, written against the part of the W3C interface that browsers and
// werift (through webrtc.node.ts) share. The framing lives in webrtc-framing.ts; this file is the flow
// control and the close handshake:
//
// - Backpressure: the channel's own buffer is kept under a high-water mark, the rest waits here (and is
//   counted in bufferedAmount, so upper layers slow down). The link resumes on `bufferedamountlow`, and
//   polls while it has not yet seen that event fire, for stacks that never fire it.
// - Closing: close() queues an End record behind everything sent, and the channel itself is closed only
//   once the other end has received End and closed its side (or a timeout passed), because closing a
//   channel with data still queued may lose that data.
// - A channel that closes without End was lost: the close handler sees 1006.

import { CloseCode, HandlerSlot } from "./link.ts";
import type { Link, LinkHandlers } from "./link.ts";
import {
  FramingError,
  MAX_CHANNEL_MESSAGE,
  MIN_CHANNEL_MESSAGE,
  MessagePacker,
  RecordReader,
} from "./webrtc-framing.ts";

/** The part of RTCDataChannel that links use; browsers' channels fit it, werift's through an adapter. */
export interface DataChannelLike {
  readonly label: string;
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: string;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(): void;
  // Event objects differ between stacks; the link reads only `data` of message events.
  // biome-ignore lint/suspicious/noExplicitAny: the event type is declared loosely on purpose (above)
  addEventListener(type: string, listener: (event: any) => void): void;
}

export interface DataChannelLinkOptions {
  /** Where the other end is, for logs. */
  remote?: string;
  /** Largest frame this end accepts; a larger one closes the link with 1009. Default 1 MiB + 64 KiB. */
  maxFrame?: number;
  /** Channel message size. Default 64 KiB, lowered to what the two ends negotiated (fitMessagesTo). */
  maxMessage?: number;
  /**
   * The channel's bufferedAmount stays at or under this. Default 128 KiB: Chromium discards packets it
   * cannot hand to its network process at once, and SCTP then waits to send them again; with 1 MiB
   * queued, a raw channel between two pages ran at 4 MB/s, with 128 KiB at 10 MB/s.
   */
  highWaterMark?: number;
  /** Refill the channel once its bufferedAmount falls to this. Default 64 KiB. */
  lowWaterMark?: number;
  /** How often to check bufferedAmount while no `bufferedamountlow` event has been seen. Default 10 ms. */
  pollInterval?: number;
  /** How long close() waits for the other end to confirm before closing the channel anyway. Default 10 s. */
  closeTimeout?: number;
  /** Called once the channel is closed for good (both handshakes done, or lost): release the transport. */
  onFinished?: () => void;
}

export const DATA_CHANNEL_DEFAULTS = {
  maxFrame: 1024 * 1024 + 64 * 1024,
  maxMessage: MAX_CHANNEL_MESSAGE,
  highWaterMark: 128 * 1024,
  lowWaterMark: 64 * 1024,
  pollInterval: 10,
  closeTimeout: 10_000,
} as const;

/** After the event has proven itself, polling only guards against a missed event. */
const WATCHDOG_INTERVAL_MS = 500;
/** How long a closed channel may take to report `close` before its transport is released anyway. */
const RELEASE_TIMEOUT_MS = 2_000;

export class DataChannelLink implements Link {
  readonly kind = "webrtc" as const;
  readonly remote: string;
  private readonly slot = new HandlerSlot();
  private packer: MessagePacker;
  private readonly reader: RecordReader;
  private readonly settings: Required<Omit<DataChannelLinkOptions, "onFinished" | "remote">>;
  private readonly onFinished: (() => void) | undefined;
  private isClosed = false;
  private markDone!: () => void;
  /** Resolved once both ends' End records have crossed (or the channel is lost). */
  private readonly done = new Promise<void>((resolve) => (this.markDone = resolve));
  private finished = false;
  private pumpScheduled = false;
  private lowEventSeen = false;
  private waitTimer: ReturnType<typeof setTimeout> | null = null;
  private closeTimer: ReturnType<typeof setTimeout> | null = null;
  private releaseTimer: ReturnType<typeof setTimeout> | null = null;
  private released = false;

  constructor(
    private readonly channel: DataChannelLike,
    options: DataChannelLinkOptions = {},
  ) {
    this.remote = options.remote ?? channel.label;
    this.onFinished = options.onFinished;
    this.settings = {
      maxFrame: options.maxFrame ?? DATA_CHANNEL_DEFAULTS.maxFrame,
      maxMessage: options.maxMessage ?? DATA_CHANNEL_DEFAULTS.maxMessage,
      highWaterMark: options.highWaterMark ?? DATA_CHANNEL_DEFAULTS.highWaterMark,
      lowWaterMark: options.lowWaterMark ?? DATA_CHANNEL_DEFAULTS.lowWaterMark,
      pollInterval: options.pollInterval ?? DATA_CHANNEL_DEFAULTS.pollInterval,
      closeTimeout: options.closeTimeout ?? DATA_CHANNEL_DEFAULTS.closeTimeout,
    };
    if (this.settings.highWaterMark < this.settings.maxMessage) {
      throw new RangeError("highWaterMark must be at least one channel message");
    }
    this.packer = new MessagePacker(this.settings.maxMessage);
    this.reader = new RecordReader(this.settings.maxFrame);
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = Math.min(
      this.settings.lowWaterMark,
      this.settings.highWaterMark - this.settings.maxMessage,
    );
    channel.addEventListener("open", () => this.pump());
    channel.addEventListener("message", (event: { data: unknown }) => this.onMessage(event.data));
    channel.addEventListener("bufferedamountlow", () => {
      this.lowEventSeen = true;
      this.pump();
    });
    channel.addEventListener("close", () => this.onChannelClosed());
    // A close follows every error; that is where the link reports it.
    channel.addEventListener("error", () => {});
    if (channel.readyState === "closed" || channel.readyState === "closing")
      queueMicrotask(() => this.onChannelClosed());
  }

  /**
   * Sends no channel message larger than `limit`, the size both ends negotiated (RTCSctpTransport's
   * maxMessageSize). Called when the channel opens, before anything was sent; only ever lowers the size.
   */
  fitMessagesTo(limit: number): void {
    const size = Math.max(MIN_CHANNEL_MESSAGE, Math.floor(limit));
    if (!(size < this.settings.maxMessage) || !this.packer.empty) return;
    this.settings.maxMessage = size;
    this.packer = new MessagePacker(size);
  }

  get bufferedAmount(): number {
    const inChannel = this.finished ? 0 : this.channel.bufferedAmount;
    return this.packer.queuedBytes + inChannel;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get paused(): boolean {
    return this.slot.paused;
  }

  /** Holds delivered frames back; a data channel cannot stop reading, so its sender does not feel it. */
  pause(): void {
    this.slot.pause();
  }

  resume(): void {
    this.slot.resume();
  }

  listen(handlers: LinkHandlers): void {
    this.slot.install(handlers);
  }

  send(frame: Uint8Array): void {
    if (this.isClosed) return;
    this.packer.pushFrame(frame);
    // Deferred so that frames sent in the same turn share channel messages.
    this.schedulePump();
  }

  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.packer.pushEnd(code, reason);
    this.schedulePump();
    this.closeTimer = setTimeout(() => this.finish(), this.settings.closeTimeout);
    this.slot.close(code, reason);
  }

  /** The transport under the channel is gone (say, the peer connection failed): report it as lost. */
  terminate(reason: string): void {
    if (!this.isClosed) {
      this.isClosed = true;
      this.slot.close(1006, reason);
    }
    this.finish();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Moves packed messages into the channel while it stays under the high-water mark. */
  private pump(): void {
    if (this.finished || this.channel.readyState !== "open") return;
    this.clearWait();
    const { highWaterMark, maxMessage } = this.settings;
    while (!this.packer.empty) {
      // Checked against a whole message before peek() seals the one being filled, so frames sent while
      // the channel is full keep coalescing into it.
      if (this.channel.bufferedAmount + maxMessage > highWaterMark) {
        this.waitForRoom();
        return;
      }
      const message = this.packer.peek();
      if (!message) break;
      try {
        this.channel.send(message);
      } catch (error) {
        this.terminate(`data channel send failed: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      this.packer.shift();
    }
  }

  private waitForRoom(): void {
    if (this.waitTimer) return;
    const delay = this.lowEventSeen ? WATCHDOG_INTERVAL_MS : this.settings.pollInterval;
    this.waitTimer = setTimeout(() => {
      this.waitTimer = null;
      this.pump();
    }, delay);
  }

  private clearWait(): void {
    if (!this.waitTimer) return;
    clearTimeout(this.waitTimer);
    this.waitTimer = null;
  }

  private onMessage(data: unknown): void {
    // Read on after our own close(): the other end's End, if it closed at the same time, is what lets
    // both ends finish without waiting for closeTimeout. Frames are no longer delivered by then.
    if (this.finished) return;
    let bytes: Uint8Array;
    if (data instanceof Uint8Array) bytes = data;
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else return this.close(CloseCode.Protocol, "only binary messages are spoken here");
    try {
      this.reader.read(bytes, {
        frame: (frame) => {
          if (!this.isClosed) this.slot.frame(frame);
        },
        end: (code, reason) => this.onEnd(code, reason),
      });
    } catch (error) {
      if (!(error instanceof FramingError)) throw error;
      this.close(error.code, error.message);
    }
  }

  /** The other end closed: everything it sent has arrived. Our side may close the channel now. */
  private onEnd(code: number, reason: string): void {
    if (!this.isClosed) {
      this.isClosed = true;
      this.slot.close(code, reason);
    }
    this.finish();
  }

  private onChannelClosed(): void {
    if (!this.isClosed) {
      this.isClosed = true;
      this.slot.close(1006, "data channel closed without end of stream");
    }
    // While closing, this is the other end's confirmation that it received End.
    this.finish();
    this.release();
  }

  /** Closes the channel; the transport is released once the channel reports closed (or soon after). */
  whenDone(): Promise<void> {
    return this.done;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.markDone();
    this.clearWait();
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.packer.clear();
    if (this.channel.readyState === "closed") return this.release();
    try {
      this.channel.close();
    } catch {
      // Already closed by the stack; nothing left to release here.
    }
    // Closing the channel resets its stream, and the other end learns of the close from that reset;
    // tearing the peer connection down before the reset is through would leave the other end waiting.
    this.releaseTimer = setTimeout(() => this.release(), RELEASE_TIMEOUT_MS);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    this.onFinished?.();
  }
}
