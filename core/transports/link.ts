// The Link contract: one message-oriented, ordered, reliable connection between two nodes. Every
// transport (WebSocket, WebRTC data channel, in-memory) implements it, and one contract test suite runs
// against each of them.

export type LinkKind = "websocket" | "webrtc" | "memory";

export interface LinkHandlers {
  /**
   * One whole frame, in order. The bytes belong to the receiver from here on (a view into a buffer no one
   * else reads): it may keep them, or open a sealed payload in place.
   */
  frame(bytes: Uint8Array): void;
  /** Called once, when the link is gone for whatever reason. */
  close(code: number, reason: string): void;
  /**
   * The link's outbound buffer has emptied after holding data: a writer waiting for room may go on.
   * Transports that cannot tell (a browser's WebSocket) never call it; their writers poll bufferedAmount.
   */
  drain?(): void;
}

export interface Link {
  readonly kind: LinkKind;
  /** Where the other end is, for logs (an address or a name). */
  readonly remote: string;
  /** Bytes accepted by send() and not yet handed to the network. */
  readonly bufferedAmount: number;
  readonly closed: boolean;
  /** Installs the handlers; frames that arrived earlier are delivered now, in order. */
  listen(handlers: LinkHandlers): void;
  /**
   * Hands a frame to the link. Frames sent in one turn of the event loop may leave together, so the
   * link may hold on to `frame` until the turn ends: do not modify it after sending.
   */
  send(frame: Uint8Array): void;
  /**
   * Stops delivering frames until resume(): that is how a relay makes a fast sender wait for a slow
   * receiver. Where the transport can (a WebSocket in Node), it stops reading too, so the other end's
   * sends back up; frames that arrive meanwhile wait, in order.
   */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /**
   * Closes the link; the other end's close handler sees `code` and `reason`. A close that cuts the link
   * (`cutsLink(code)`: a refusal, a violation, a slow or silent peer) must reach the other end at once:
   * where the transport can, it then waits for no closing handshake, and when data is still queued
   * ahead of the close it drops that data and resets the connection, so that the other end learns
   * promptly (without the reason, which was behind the data). Other closes let queued data go first.
   */
  close(code?: number, reason?: string): void;
  /**
   * Resolves once the link is done with the network: after a close in good order, once the other end
   * has confirmed it (a WebSocket's closing handshake), so everything sent before the close has been read
   * there; otherwise once the connection is gone. Before close() it waits for the link to end.
   */
  whenDone(): Promise<void>;
}

/** Opens a link to an address ("ws://host:port", "mem://name", ...). Runtime-specific, injected. */
export type Dialer = (address: string, options: DialOptions) => Promise<Link>;

export interface DialOptions {
  /** Largest frame this end accepts. */
  maxFrame: number;
  signal?: AbortSignal;
}

/** Close codes used across transports, in the WebSocket application range where they are ours. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  TooBig: 1009,
  Protocol: 4000,
  Version: 4001,
  AuthFailed: 4002,
  HandshakeTimeout: 4003,
  Draining: 4004,
  SlowConsumer: 4005,
  Replaced: 4006,
  HeartbeatTimeout: 4007,
  Limit: 4008,
  // A relay has all the relay links it may keep; the dialer is told which other relays to try.
  Full: 4009,
  Redundant: 4010,
} as const;

/** Closes that end a link in good order (nothing wrong with the other end): the rest cut it. */
const GRACEFUL_CLOSES: ReadonlySet<number> = new Set([CloseCode.Normal, CloseCode.GoingAway, CloseCode.Draining]);

/** Whether a close with this code cuts the link (see Link.close) rather than ending it in good order. */
export function cutsLink(code: number): boolean {
  return !GRACEFUL_CLOSES.has(code);
}

/**
 * A link in front of another, forwarding everything: sealing layers, taps and test instruments extend it
 * and override only what they change.
 */
export class LinkWrapper implements Link {
  constructor(protected readonly inner: Link) {}

  get kind(): LinkKind {
    return this.inner.kind;
  }
  get remote(): string {
    return this.inner.remote;
  }
  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  listen(handlers: LinkHandlers): void {
    this.inner.listen(handlers);
  }
  send(frame: Uint8Array): void {
    this.inner.send(frame);
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  get paused(): boolean {
    return this.inner.paused;
  }
  close(code?: number, reason?: string): void {
    this.inner.close(code, reason);
  }
  whenDone(): Promise<void> {
    return this.inner.whenDone();
  }
}

/**
 * A link's side of its handlers, shared by transports: calls made before listen() wait for it, and frames
 * that arrive while the link is paused wait for resume(), in order, with the close behind them.
 */
export class HandlerSlot {
  private handlers: LinkHandlers | null = null;
  private readonly waiting: Array<(h: LinkHandlers) => void> = [];
  private head = 0;
  private isPaused = false;
  private releasing = false;

  get paused(): boolean {
    return this.isPaused;
  }

  install(handlers: LinkHandlers): void {
    if (this.handlers) throw new Error("link handlers already installed");
    this.handlers = handlers;
    this.release();
  }

  /** Delivers a frame now, or once listen() and resume() allow; then calls `delivered`, if given. */
  frame(bytes: Uint8Array, delivered?: () => void): void {
    if (this.handlers && !this.isPaused && this.head === this.waiting.length) {
      this.handlers.frame(bytes);
      delivered?.();
    } else {
      this.waiting.push((h) => {
        h.frame(bytes);
        delivered?.();
      });
    }
  }

  close(code: number, reason: string): void {
    if (this.handlers && !this.isPaused && this.head === this.waiting.length) this.handlers.close(code, reason);
    else this.waiting.push((h) => h.close(code, reason));
  }

  drain(): void {
    this.handlers?.drain?.();
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.release();
  }

  /** Delivers what waited, until a handler pauses the link again. */
  private release(): void {
    // A handler that pauses and resumes the link from inside this loop only lets the loop go on.
    if (this.releasing) return;
    this.releasing = true;
    try {
      while (this.handlers && !this.isPaused && this.head < this.waiting.length) {
        this.waiting[this.head++]!(this.handlers);
      }
    } finally {
      this.releasing = false;
      if (this.head === this.waiting.length) {
        this.waiting.length = 0;
        this.head = 0;
      }
    }
  }
}
