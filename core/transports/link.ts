// The Link contract: one message-oriented, ordered, reliable connection between two nodes. Every
// transport (WebSocket, WebRTC data channel, in-memory) implements it, and one contract test suite runs
// against each of them.

export type LinkKind = "websocket" | "webrtc" | "memory";

export interface LinkHandlers {
  /** One whole frame, in order. The bytes may be a view; copy them to keep them past the call. */
  frame(bytes: Uint8Array): void;
  /** Called once, when the link is gone for whatever reason. */
  close(code: number, reason: string): void;
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
  send(frame: Uint8Array): void;
  /** Closes the link; the other end's close handler sees `code` and `reason`. */
  close(code?: number, reason?: string): void;
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
  close(code?: number, reason?: string): void {
    this.inner.close(code, reason);
  }
}

/** Calls the queued handler calls once listen() installs handlers. Shared by transports. */
export class HandlerSlot {
  private handlers: LinkHandlers | null = null;
  private pending: Array<(h: LinkHandlers) => void> = [];

  install(handlers: LinkHandlers): void {
    if (this.handlers) throw new Error("link handlers already installed");
    this.handlers = handlers;
    const pending = this.pending;
    this.pending = [];
    for (const call of pending) call(handlers);
  }

  frame(bytes: Uint8Array): void {
    if (this.handlers) this.handlers.frame(bytes);
    else this.pending.push((h) => h.frame(bytes));
  }

  close(code: number, reason: string): void {
    if (this.handlers) this.handlers.close(code, reason);
    else this.pending.push((h) => h.close(code, reason));
  }
}
