// A tunnel: an ordered, flow-controlled, bidirectional stream of messages between a caller and one
// member. Messages are chunked into numbered pieces, each sealed with the tunnel's own forward-secret
// session keys under its number. Pieces travel over the relay route, or over a direct WebRTC link when
// the two peers have one; the receiver restores their order whichever way they came, and the sender
// keeps every piece until it is acknowledged, so when a direct link fails it replays the rest over the
// relay: nothing is lost, duplicated or reordered by a change of route.
//
// Flow control is by byte credits, as running totals: a sender never has more unconsumed bytes at the
// receiver than the receiver granted, and the receiver grants more only as its application consumes
// messages, so a slow reader holds the sender back instead of filling memory.
//
// Closing is a handshake: close() waits for the other end's close, which proves everything sent before
// it arrived. Any failure ends the tunnel with an error at both ends.

import { fromUtf8, utf8 } from "../../../util/bytes.ts";
import type { ServiceKeys } from "../../../crypto/keys.ts";
import type { SessionCipher } from "../../../crypto/session.ts";
import type { IrisError } from "../../../errors.ts";
import { ClosedError, ProtocolError, TimeoutError, TooLargeError } from "../../../errors.ts";
import { Emitter } from "../../../util/events.ts";
import type { Link } from "../../../transports/link.ts";
import {
  FrameType,
  TUNNEL_TO_MEMBER,
  TunnelCloseCode,
  encodeFrame,
  tunnelDataHeaderSize,
  writeTunnelDataHeader,
} from "../../../wire/frames.ts";
import { SECRETBOX_OVERHEAD } from "../../../crypto/nacl.ts";
import type { TunnelCloseCode as TunnelCloseCodeType } from "../../../wire/frames.ts";
import { toBytes } from "../context.ts";
import type { Payload, PeerContext } from "../context.ts";
import { TunnelInbox } from "./inbox.ts";
import { ReceiveSequence } from "./sequence.ts";

/**
 * A connection's tunnel flow control and limits (the `tunnels` option of connect()); each has a default.
 *
 * @example
 * ```ts
 * const conn = await connect({ relays, keys, tunnels: { window: 1 << 20, gapTimeout: 30_000 } });
 * ```
 */
export interface TunnelSettings {
  /** Initial credit granted to the other side, bytes. Default 256 KiB. */
  window: number;
  /** The window grows while the reader keeps up, up to this many bytes. Default 16 MiB. */
  maxWindow: number;
  /** Largest single message, bytes; larger ones are refused with TooLargeError. Default 64 MiB. */
  maxMessage: number;
  /** Largest piece on the wire, bytes; messages are cut into pieces of at most this. Default 64 KiB. */
  chunkSize: number;
  /** How long close() waits for the other end's close. Default 10 s. */
  closeTimeout: number;
  /** How long a missing piece may hold up the ones after it before the tunnel is declared broken. Default 10 s. */
  gapTimeout: number;
}

export const DEFAULT_TUNNEL_SETTINGS: TunnelSettings = {
  window: 256 * 1024,
  maxWindow: 16 * 1024 * 1024,
  maxMessage: 64 * 1024 * 1024,
  chunkSize: 64 * 1024,
  closeTimeout: 10_000,
  gapTimeout: 10_000,
};

/** Piece flags, inside the seal. */
const PIECE_END = 0x01;
const PIECE_CONTROL = 0x02;
/** Credit beyond this is nonsense from a broken or hostile peer. */
const MAX_CREDIT = 2 ** 40;
/** Bytes a direct link may have buffered before a sender waits for it to drain. */
const DIRECT_HIGH_WATER = 1024 * 1024;
const DIRECT_POLL_MS = 4;

/** Which end of a tunnel this is: the caller that opened it, or the member that accepted it. */
export type TunnelRole = "caller" | "member";
/** How a tunnel's messages travel: through the relays, or over a direct WebRTC link between its two peers. */
export type TunnelRoute = "relay" | "direct";

/** How a tunnel's frames travel: the relay route always, a direct link when there is one. */
export interface TunnelRoutes {
  relay(frame: Uint8Array): Promise<void>;
  /** An open direct link to the other peer this tunnel may use, or null. */
  direct(): Link | null;
}

export interface TunnelParams {
  role: TunnelRole;
  keys: ServiceKeys;
  origin: Uint8Array;
  tunnelId: number;
  /** The peer at the other end, hex. */
  remotePeer: string;
  cipher: SessionCipher;
  /** Credit the other side granted us in its open or accept. */
  sendCredit: number;
  settings: TunnelSettings;
  routes: TunnelRoutes;
  /** Control messages (direct-link signaling) from the other end. */
  onControl(message: unknown): void;
  /** Called once when the tunnel is over, either way. */
  onEnded(tunnel: Tunnel): void;
}

/**
 * What a {@link Tunnel} tells the application, by event name: `tunnel.on(name, listener)`.
 *
 * @example
 * ```ts
 * tunnel.on("route", ({ route }) => console.log(`tunnel now goes ${route === "direct" ? "peer to peer" : "by the relays"}`));
 * ```
 */
export interface TunnelEvents {
  /** The tunnel's messages now travel this way. */
  route: {
    /** The new route. */
    route: TunnelRoute;
  };
}

/**
 * An ordered, flow-controlled stream of messages between a caller and one member of a cluster, in both
 * directions: {@link Connection.tunnel} opens one, a member's {@link TunnelHandler} receives the other
 * end. Every message arrives exactly once and in order, or the tunnel ends with an error at both ends.
 * Read it with `for await` (or receive()); a slow reader holds the sender back.
 *
 * @example
 * ```ts
 * const tunnel = await conn.tunnel("files");
 * await tunnel.send(header);
 * await tunnel.send(body); // waits while the other side's window is full
 * for await (const reply of tunnel) console.log(reply.length); // ends when the member closes
 * await tunnel.close();
 * ```
 * @hideconstructor
 */
export class Tunnel extends Emitter<TunnelEvents> implements AsyncIterable<Uint8Array> {
  /** Which end this is: the caller that opened the tunnel, or the member that accepted it. */
  readonly role: TunnelRole;
  /** The cluster's name. */
  readonly name: string;
  /** The tunnel's number, unique among the caller's tunnels. */
  readonly tunnelId: number;
  /** The peer at the other end, hex. */
  readonly remotePeer: string;
  private readonly ctx: PeerContext;
  private readonly params: TunnelParams;
  private readonly settings: TunnelSettings;
  private readonly outFlags: number;
  private currentRoute: TunnelRoute = "relay";

  // Sending: credit as totals, and every piece kept until the other side acknowledges it.
  private granted: number;
  private sentBytes = 0;
  private readonly unacked = new Map<number, Uint8Array>();
  private creditWaiter: (() => void) | null = null;
  private sendChain: Promise<void> = Promise.resolve();

  // Receiving.
  private readonly sequence: ReceiveSequence;
  private readonly inbox: TunnelInbox;

  private sentClose: Uint8Array | null = null;
  private closeFrom: { sent: number } | null = null;
  private receivedClose = false;
  private error: Error | null = null;
  private closeWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  private ended = false;

  /** @internal Tunnels are made by Connection.tunnel and by a member's Tunnels table. */
  constructor(ctx: PeerContext, params: TunnelParams) {
    super();
    this.ctx = ctx;
    this.params = params;
    this.role = params.role;
    this.name = params.keys.name;
    this.tunnelId = params.tunnelId;
    this.remotePeer = params.remotePeer;
    this.settings = params.settings;
    this.outFlags = params.role === "caller" ? TUNNEL_TO_MEMBER : 0;
    this.granted = params.sendCredit;
    this.inbox = new TunnelInbox(params.settings, (granted) => this.sendCreditFrame(granted, this.sequence.expected));
    this.sequence = new ReceiveSequence(ctx.clock, params.settings.maxWindow, params.settings.gapTimeout, (error) =>
      this.fail(error, TunnelCloseCode.Protocol),
    );
  }

  /** How the tunnel's pieces travel now: through relays, or over a direct WebRTC link. */
  get route(): TunnelRoute {
    return this.currentRoute;
  }

  /** True once the tunnel can carry nothing more in either direction. */
  get closed(): boolean {
    return this.ended;
  }

  /** Bytes received and not yet read by the application, including a message still being assembled. */
  get buffered(): number {
    return this.inbox.buffered;
  }

  /** The credit window this end grants the other side now; it grows while the reader keeps up. */
  get receiveWindow(): number {
    return this.inbox.window;
  }

  /**
   * Sends one message. Resolves when it is on its way within the other side's credit; concurrent
   * sends keep their call order.
   */
  send(payload: Payload): Promise<void> {
    let body: Uint8Array;
    try {
      body = toBytes(payload);
      if (body.length > this.settings.maxMessage) {
        throw new TooLargeError(
          `tunnel message of ${body.length} bytes exceeds the ${this.settings.maxMessage} byte limit`,
        );
      }
      this.throwIfUnwritable();
    } catch (error) {
      return Promise.reject(error);
    }
    const job = this.sendChain.then(() => this.transmit(body));
    this.sendChain = job.catch(() => {});
    return job;
  }

  /** The next message, or null once the other side has closed and everything before its close was read. */
  async receive(): Promise<Uint8Array | null> {
    const result = await this.nextMessage();
    return result.done ? null : result.value;
  }

  /** The messages in order, until the other side closes; a failed tunnel throws its error. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return { next: () => this.nextMessage() };
  }

  /**
   * Closes the tunnel once everything sent so far is on its way, and waits for the other end to
   * confirm. Rejects if the tunnel failed before that confirmation.
   */
  async close(): Promise<void> {
    await this.sendChain;
    if (this.error) throw this.error;
    if (this.ended) return;
    const confirmed = new Promise<void>((resolve, reject) => this.closeWaiters.push({ resolve, reject }));
    if (!this.sentClose) this.sendClose(TunnelCloseCode.Normal, "closed");
    const timer = this.ctx.clock.setTimeout(
      () =>
        this.fail(
          new TimeoutError(`tunnel close not confirmed within ${this.settings.closeTimeout} ms`),
          TunnelCloseCode.Timeout,
        ),
      this.settings.closeTimeout,
    );
    try {
      await confirmed;
    } finally {
      this.ctx.clock.clearTimeout(timer);
    }
  }

  /** @internal Tells the other side our credit and what we have received so far (it also shows we exist). */
  announce(): void {
    this.inbox.restate();
  }

  /** @internal Sends a control message (signaling for a direct link); it takes a place in order but no credit. */
  sendControl(message: unknown): void {
    if (this.ended || this.sentClose) return;
    this.sendPiece(PIECE_CONTROL, utf8(JSON.stringify(message)));
  }

  // Below: called by the tunnel table as frames arrive, whichever route they took.

  /** @internal A piece arrived. */
  onData(seq: number, sealed: Uint8Array): void {
    if (this.ended || !this.sequence.isNew(seq)) return;
    let plain: Uint8Array;
    try {
      // In place: the frame is ours, and a repeat of this seq was refused above.
      plain = this.params.cipher.openInPlace(sealed, seq);
      if (plain.length < 1) throw new ProtocolError("empty tunnel piece");
      for (const piece of this.sequence.accept(seq, plain)) this.deliver(piece.plain);
    } catch (error) {
      return this.fail(error as Error, TunnelCloseCode.Protocol);
    }
    this.checkClose();
  }

  /** @internal The other side granted credit and acknowledged pieces. */
  onCredit(granted: number, ack: number): void {
    if (this.ended) return;
    if (granted > this.sentBytes + MAX_CREDIT || ack > this.params.cipher.sent) {
      return this.fail(
        new ProtocolError(`invalid tunnel credit (granted ${granted}, ack ${ack})`),
        TunnelCloseCode.Protocol,
      );
    }
    // Totals: an older frame overtaken by a newer one (another route) changes nothing.
    if (granted > this.granted) this.granted = granted;
    for (const seq of this.unacked.keys()) {
      if (seq >= ack) break;
      this.unacked.delete(seq);
    }
    this.wakeSender();
  }

  /** @internal The other side closed, after sending `sent` pieces. */
  onClose(code: TunnelCloseCodeType, sent: number, reason: string): void {
    if (this.ended) return;
    if (code !== TunnelCloseCode.Normal) return this.fail(closeError(code, reason), null);
    // A normal close takes effect once every piece sent before it has arrived.
    this.closeFrom = { sent };
    this.checkClose();
  }

  /** @internal A direct link to the other peer opened or closed: move the tunnel's traffic accordingly. */
  routeChanged(): void {
    if (this.ended) return;
    const route: TunnelRoute = this.params.routes.direct() ? "direct" : "relay";
    if (route === this.currentRoute) return;
    this.currentRoute = route;
    if (route === "relay") {
      // Whatever the direct link had not delivered may be lost: replay everything not acknowledged, in
      // order (the receiver drops what it already has), and restate our totals and our close.
      for (const frame of this.unacked.values()) this.relay(frame);
      this.inbox.restate();
      if (this.sentClose) this.relay(this.sentClose);
    }
    this.emit("route", { route });
  }

  /** @internal Ends the tunnel with an error at this end, and tells the other end unless `code` is null. */
  fail(error: Error, code: TunnelCloseCodeType | null): void {
    if (this.ended) return;
    this.error = error;
    if (code !== null && !this.sentClose) this.sendClose(code, error.message);
    for (const waiter of this.closeWaiters.splice(0)) waiter.reject(error);
    this.wakeSender();
    this.inbox.end(error);
    this.end();
  }

  private deliver(plain: Uint8Array): void {
    const flags = plain[0]!;
    const data = plain.subarray(1);
    if ((flags & PIECE_CONTROL) !== 0) {
      let message: unknown;
      try {
        message = JSON.parse(fromUtf8(data));
      } catch {
        throw new ProtocolError("malformed tunnel control message");
      }
      this.params.onControl(message);
      return;
    }
    this.inbox.push(data, (flags & PIECE_END) !== 0);
  }

  private checkClose(): void {
    if (this.ended || !this.closeFrom || this.sequence.expected < this.closeFrom.sent) return;
    this.receivedClose = true;
    // Acknowledge: our close tells the other side everything it sent has arrived.
    if (!this.sentClose) this.sendClose(TunnelCloseCode.Normal, "closed by the other side");
    for (const waiter of this.closeWaiters.splice(0)) waiter.resolve();
    this.wakeSender();
    this.inbox.end(null);
    this.end();
  }

  private async transmit(body: Uint8Array): Promise<void> {
    let offset = 0;
    do {
      this.throwIfUnwritable();
      const credit = this.granted - this.sentBytes;
      if (credit <= 0 && body.length > 0) {
        await new Promise<void>((resolve) => (this.creditWaiter = resolve));
        continue;
      }
      const size = Math.min(body.length - offset, this.settings.chunkSize, credit);
      const last = offset + size === body.length;
      this.sentBytes += size;
      const written = this.sendPiece(last ? PIECE_END : 0, body.subarray(offset, offset + size));
      offset += size;
      await written;
    } while (offset < body.length);
  }

  /**
   * Seals one piece straight into its frame (one buffer, one copy of the data) and sends it; resolves
   * when the route can take more.
   */
  private sendPiece(flags: number, data: Uint8Array): Promise<void> {
    const cipher = this.params.cipher;
    const seq = cipher.nextSeq;
    const headerSize = tunnelDataHeaderSize(this.tunnelId, seq);
    const frame = new Uint8Array(headerSize + SECRETBOX_OVERHEAD + 1 + data.length);
    writeTunnelDataHeader(frame, { flags: this.outFlags, origin: this.params.origin, tunnelId: this.tunnelId, seq });
    frame[headerSize + SECRETBOX_OVERHEAD] = flags;
    frame.set(data, headerSize + SECRETBOX_OVERHEAD + 1);
    cipher.sealInPlace(frame.subarray(headerSize));
    this.unacked.set(seq, frame);
    return this.write(frame);
  }

  private sendCreditFrame(granted: number, ack: number): void {
    if (this.ended) return;
    this.write(
      encodeFrame({
        type: FrameType.TunnelCredit,
        flags: this.outFlags,
        origin: this.params.origin,
        tunnelId: this.tunnelId,
        granted,
        ack,
      }),
    ).catch(() => {});
  }

  private sendClose(code: TunnelCloseCodeType, reason: string): void {
    this.sentClose = encodeFrame({
      type: FrameType.TunnelClose,
      flags: this.outFlags,
      origin: this.params.origin,
      tunnelId: this.tunnelId,
      code,
      sent: this.params.cipher.sent,
      reason: reason.slice(0, 200),
    });
    this.write(this.sentClose).catch(() => {});
    // Over a direct link, a close goes by the relay route too. The end that confirms a close is done
    // with the tunnel at once, so if the link had died unnoticed, nothing would be left to send the
    // confirmation again once the loss is found. A second copy is harmless: a close counts once.
    if (this.params.routes.direct()) void this.relay(this.sentClose);
  }

  /** Sends a frame by the current route; over a direct link, waits while its buffer is full. */
  private async write(frame: Uint8Array): Promise<void> {
    const direct = this.params.routes.direct();
    if (!direct) return this.relay(frame);
    direct.send(frame);
    while (direct.bufferedAmount > DIRECT_HIGH_WATER && !direct.closed && !this.ended) {
      await new Promise<void>((resolve) => this.ctx.clock.setTimeout(resolve, DIRECT_POLL_MS));
    }
  }

  private relay(frame: Uint8Array): Promise<void> {
    return this.params.routes.relay(frame).catch(() => {}); // a dead connection fails the tunnel by itself
  }

  private nextMessage(): Promise<IteratorResult<Uint8Array>> {
    return this.inbox.next(this.receivedClose || this.ended);
  }

  private throwIfUnwritable(): void {
    if (this.error) throw this.error;
    if (this.sentClose || this.receivedClose) throw new ClosedError(`tunnel to "${this.name}" is closed`);
  }

  private wakeSender(): void {
    const waiter = this.creditWaiter;
    this.creditWaiter = null;
    waiter?.();
  }

  private end(): void {
    this.ended = true;
    this.sequence.stop();
    this.params.onEnded(this);
  }
}

export function closeError(code: TunnelCloseCodeType, reason: string): IrisError {
  if (code === TunnelCloseCode.Protocol) return new ProtocolError(`tunnel broken: ${reason}`);
  if (code === TunnelCloseCode.Timeout) return new TimeoutError(`tunnel timed out: ${reason}`);
  return new ClosedError(`tunnel closed: ${reason}`);
}
