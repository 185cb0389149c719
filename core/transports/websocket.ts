// Links over WebSocket, written against the WHATWG WebSocket interface that browsers have and that the
// `ws` package's client and server sockets also implement. The constructor is injected: core never
// imports `ws`.

import { WireError } from "../wire/codec.ts";
import { browserScheduling } from "../util/scheduling.ts";
import type { AfterTurn } from "../util/scheduling.ts";
import { encodeBundle, readBundle } from "./bundle.ts";
import { CloseCode, HandlerSlot } from "./link.ts";
import type { Dialer, Link, LinkHandlers } from "./link.ts";

/** The part of the WHATWG WebSocket that links use. */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  // The event objects differ between browsers and `ws`; only `data`, `code` and `reason` are read. Node's
  // sockets also emit "drain" when their write buffer empties; browsers never do.
  // biome-ignore lint/suspicious/noExplicitAny: the event type is declared loosely on purpose (above)
  addEventListener(type: string, listener: (event: any) => void): void;
  /** Stops reading from the network (Node's `ws` can; a browser's WebSocket cannot). */
  pause?(): void;
  resume?(): void;
}

/** Creates a client WebSocket for a URL; `maxFrame` bounds what it accepts where the runtime allows. */
export type WebSocketFactory = (url: string, maxFrame: number) => WebSocketLike;

export interface WebSocketLinkOptions {
  /** When the frames sent in one turn leave, as one message (util/scheduling.ts). */
  afterTurn?: AfterTurn;
  /** Largest bundle of frames; a larger frame goes in a message of its own. Default 64 KiB. */
  bundleLimit?: number;
}

const OPEN = 1;
const MAX_CLOSE_REASON_BYTES = 123;
const DEFAULT_BUNDLE_LIMIT = 64 * 1024;

/**
 * Wraps a WebSocket in a Link. Works for sockets still connecting and for ones already open. Frames sent in
 * one turn of the event loop leave in one WebSocket message (bundle.ts), up to `bundleLimit` bytes.
 */
export class WebSocketLink implements Link {
  readonly kind = "websocket" as const;
  private readonly slot = new HandlerSlot();
  private readonly afterTurn: AfterTurn;
  private readonly bundleLimit: number;
  private isClosed = false;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private readonly flush = () => this.flushPending();
  private markDone!: () => void;
  /** Resolved when the socket itself closes: after the closing handshake, or when the connection is lost. */
  private readonly done = new Promise<void>((resolve) => (this.markDone = resolve));

  constructor(
    private readonly socket: WebSocketLike,
    readonly remote: string,
    options: WebSocketLinkOptions = {},
  ) {
    this.afterTurn = options.afterTurn ?? browserScheduling.afterTurn;
    this.bundleLimit = options.bundleLimit ?? DEFAULT_BUNDLE_LIMIT;
    if (socket.binaryType !== "nodebuffer") socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event: { data: unknown }) => this.onMessage(event.data));
    socket.addEventListener("close", (event: { code: number; reason: string }) => {
      this.markDone();
      this.onClose(event.code, event.reason);
    });
    socket.addEventListener("drain", () => {
      if (this.pendingBytes === 0) this.slot.drain();
    });
    // A close always follows an error, and that is where the link reports it. Without a listener,
    // Node's `ws` would throw the error (an oversized frame, say) and take the whole relay down.
    socket.addEventListener("error", () => {});
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount + this.pendingBytes;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  whenDone(): Promise<void> {
    return this.done;
  }

  get paused(): boolean {
    return this.slot.paused;
  }

  listen(handlers: LinkHandlers): void {
    this.slot.install(handlers);
  }

  send(frame: Uint8Array): void {
    if (this.isClosed || this.socket.readyState !== OPEN) return;
    if (frame.length >= this.bundleLimit) {
      this.flushPending();
      this.socket.send(frame);
      return;
    }
    if (this.pendingBytes + frame.length + 5 > this.bundleLimit) this.flushPending();
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.afterTurn(this.flush);
    }
  }

  pause(): void {
    this.slot.pause();
    this.socket.pause?.();
  }

  resume(): void {
    this.socket.resume?.();
    this.slot.resume();
  }

  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.isClosed) return;
    // What was sent before the close leaves before it.
    this.flushPending();
    const text = truncateUtf8(reason, MAX_CLOSE_REASON_BYTES);
    try {
      this.socket.close(code, text);
    } catch {
      // Browsers only let clients send 1000 and 3000-4999.
      this.socket.close(CloseCode.Normal, text);
    }
    // Report the close now rather than after the closing handshake: the link is unusable from here on.
    this.onClose(code, reason);
  }

  private flushPending(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const frames = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.isClosed || this.socket.readyState !== OPEN) return;
    this.socket.send(encodeBundle(frames));
  }

  private onMessage(data: unknown): void {
    if (this.isClosed) return;
    let message: Uint8Array;
    // Node's `ws` hands over Buffers: every view the decoders take of one (a frame, an id, a body) would
    // be a Buffer made through Node's own subarray, several times the cost of a plain one. The core
    // speaks plain Uint8Array (DESIGN: adapters convert at the edge), so the message becomes one here.
    if (data instanceof Uint8Array)
      message = data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else if (data instanceof ArrayBuffer) message = new Uint8Array(data);
    else return this.close(CloseCode.Protocol, "only binary frames are spoken here");
    try {
      readBundle(message, this.deliver);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.close(CloseCode.Protocol, `unreadable message: ${error.message}`);
    }
  }

  private readonly deliver = (frame: Uint8Array) => {
    if (!this.isClosed) this.slot.frame(frame);
  };

  private onClose(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.slot.close(code, reason || closeText(code));
  }
}

function closeText(code: number): string {
  if (code === 1006) return "connection lost";
  if (code === CloseCode.TooBig) return "message too big";
  return `closed (${code})`;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  let out = text;
  while (encoder.encode(out + "…").length > maxBytes) out = out.slice(0, -1);
  return out + "…";
}

/** A Dialer for ws:// and wss:// addresses using the injected WebSocket factory. */
export function webSocketDialer(factory: WebSocketFactory, linkOptions: WebSocketLinkOptions = {}): Dialer {
  return (address, options) =>
    new Promise<Link>((resolve, reject) => {
      if (options.signal?.aborted) return reject(options.signal.reason);
      let socket: WebSocketLike;
      try {
        socket = factory(address, options.maxFrame);
      } catch (error) {
        return reject(error);
      }
      // Wrap before open so no early frame can slip past the handlers.
      const link = new WebSocketLink(socket, address, linkOptions);
      let settled = false;
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        link.close(CloseCode.Normal, "dial failed");
        reject(new Error(message));
      };
      options.signal?.addEventListener("abort", () => fail(`dial to ${address} aborted`), { once: true });
      socket.addEventListener("open", () => {
        if (settled) return;
        settled = true;
        resolve(link);
      });
      socket.addEventListener("error", (event: { message?: string; error?: Error }) =>
        fail(`cannot reach ${address}: ${event.error?.message ?? event.message ?? "connection failed"}`),
      );
      socket.addEventListener("close", (event: { code: number; reason: string }) =>
        fail(`cannot reach ${address}: closed (${event.code}) ${event.reason}`),
      );
    });
}
