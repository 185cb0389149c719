// In-memory links: two ends joined by queues, for deterministic many-node tests. Delivery is
// asynchronous (a microtask per frame) and ordered, like a real transport, and bufferedAmount counts the
// bytes the other end has not taken yet, so backpressure code paths run too: an end that pauses makes
// the other end's buffer grow, as a socket that stops reading does, and `drain` fires once it empties.

import { CloseCode, HandlerSlot } from "./link.ts";
import type { Dialer, Link, LinkHandlers } from "./link.ts";

class MemoryLink implements Link {
  readonly kind = "memory" as const;
  private readonly slot = new HandlerSlot();
  peer!: MemoryLink;
  private inFlight = 0;
  private isClosed = false;
  private markDone!: () => void;
  private readonly done = new Promise<void>((resolve) => (this.markDone = resolve));

  constructor(readonly remote: string) {}

  whenDone(): Promise<void> {
    return this.done;
  }

  get bufferedAmount(): number {
    return this.inFlight;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get paused(): boolean {
    return this.slot.paused;
  }

  listen(handlers: LinkHandlers): void {
    this.slot.install(handlers);
  }

  send(frame: Uint8Array): void {
    if (this.isClosed) return;
    // The receiver owns what it gets, as after a real network hop.
    const copy = frame.slice();
    this.inFlight += copy.length;
    queueMicrotask(() => {
      if (this.peer.isClosed) return this.taken(copy.length);
      this.peer.slot.frame(copy, () => this.taken(copy.length));
    });
  }

  pause(): void {
    this.slot.pause();
  }

  resume(): void {
    this.slot.resume();
  }

  private taken(bytes: number): void {
    this.inFlight -= bytes;
    if (this.inFlight === 0 && !this.isClosed) this.slot.drain();
  }

  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.isClosed) return;
    this.isClosed = true;
    // Frames already sent are delivered before the close, as a WebSocket closing handshake would.
    queueMicrotask(() => {
      this.slot.close(code, reason);
      this.peer.closeFromPeer(code, reason);
      this.markDone();
    });
  }

  private closeFromPeer(code: number, reason: string): void {
    this.markDone();
    if (this.isClosed) return;
    this.isClosed = true;
    this.slot.close(code, reason);
  }
}

/** Two connected link ends. */
export function memoryLinkPair(nameA = "a", nameB = "b"): [Link, Link] {
  const a = new MemoryLink(nameB);
  const b = new MemoryLink(nameA);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Something that accepts incoming links, such as a relay. */
export interface LinkAcceptor {
  accept(link: Link): void;
}

/**
 * A dialer over an in-memory address book: "mem://name" reaches whatever is registered under that name.
 * Unregistered names fail like a refused connection.
 */
export class MemoryNetwork {
  private readonly listeners = new Map<string, LinkAcceptor>();
  private dialCount = 0;

  listen(address: string, acceptor: LinkAcceptor): () => void {
    this.listeners.set(address, acceptor);
    return () => {
      if (this.listeners.get(address) === acceptor) this.listeners.delete(address);
    };
  }

  readonly dialer: Dialer = async (address) => {
    const acceptor = this.listeners.get(address);
    if (!acceptor) throw new Error(`connection refused: ${address}`);
    const [local, remote] = memoryLinkPair(`memory-client-${++this.dialCount}`, address);
    acceptor.accept(remote);
    return local;
  };
}
