// The tunnels of one connection: opening them as a caller, accepting them as a member, and routing
// each arriving tunnel frame to its tunnel. Opening runs the session handshake: the caller's ephemeral
// key rides sealed in the open, the member's in the accept.

import { concat, toHex } from "../../../util/bytes.ts";
import type { ServiceKeys } from "../../../crypto/keys.ts";
import { Purpose } from "../../../crypto/seal.ts";
import { EPHEMERAL_KEY_BYTES, SessionHandshake } from "../../../crypto/session.ts";
import type { SessionCipher } from "../../../crypto/session.ts";
import { equalBytes } from "../../../util/bytes.ts";
import { NoMembersError, OverloadedError, ProtocolError, TimeoutError } from "../../../errors.ts";
import {
  FrameType,
  MAX_HOPS,
  PEER_ID_BYTES,
  TUNNEL_TO_MEMBER,
  TunnelCloseCode,
  encodeFrame,
} from "../../../wire/frames.ts";
import type { TunnelAcceptFrame, TunnelOpenFrame, TunnelPathFrame } from "../../../wire/frames.ts";
import { deliver, openFresh, sealFor } from "../context.ts";
import type { DirectRoutes, PeerContext } from "../context.ts";
import { Tunnel, closeError } from "./tunnel.ts";
import type { TunnelRoutes, TunnelSettings } from "./tunnel.ts";

/**
 * Options of {@link Connection.tunnel}.
 *
 * @example
 * ```ts
 * const tunnel = await conn.tunnel("files", { timeout: 5000, signal: AbortSignal.timeout(10_000) });
 * ```
 */
export interface TunnelOptions {
  /** How long to wait for a member to accept. Default 10 s. */
  timeout?: number;
  /** Gives up waiting for a member to accept, and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** How the connection itself opens tunnels: TunnelOptions, and what only the connection may ask for. */
export interface TunnelOpening extends TunnelOptions {
  /**
   * A tunnel that only carries the signaling for a direct link to the member that accepts it. Any
   * member with direct links accepts one, whatever its handlers; the application never sees it.
   */
  signalingOnly?: boolean;
}

/** The open's sealed body: the caller's ephemeral key, then flags. */
const OPEN_SIGNALING_ONLY = 0x01;

export const DEFAULT_TUNNEL_TIMEOUT = 10_000;
const SESSION_LABEL = "tunnel";

/**
 * Serves one tunnel a caller opened to this member. The tunnel stays open after the handler returns,
 * until either end closes it; the handler's promise only reports errors (on the `error` event).
 *
 * @example
 * ```ts
 * const tunnel: TunnelHandler = async (tunnel) => {
 *   for await (const chunk of tunnel) await tunnel.send(chunk); // echo, in order
 *   await tunnel.close();
 * };
 * ```
 */
export type TunnelHandler = (tunnel: Tunnel) => void | Promise<void>;

/** What a member's registration offers to incoming tunnels. */
export interface TunnelService {
  keys: ServiceKeys;
  handler: TunnelHandler | undefined;
  /** Takes a tunnel slot under the service's limits; false when none is free. */
  admit(): boolean;
  release(): void;
}

interface Opening {
  keys: ServiceKeys;
  handshake: SessionHandshake;
  messageId: Uint8Array;
  resolve(tunnel: Tunnel): void;
  reject(error: Error): void;
}

export class Tunnels {
  private nextTunnelId = 1;
  /** Member-side tunnels that have heard from their caller since the accept. */
  private readonly heard = new WeakSet<Tunnel>();
  private readonly opening = new Map<number, Opening>();
  /** Tunnels we opened, by tunnel id. */
  private readonly outgoing = new Map<number, Tunnel>();
  /** Tunnels we serve, by caller peer id (hex) and tunnel id. */
  private readonly incoming = new Map<string, Tunnel>();

  constructor(
    private readonly ctx: PeerContext,
    private readonly settings: TunnelSettings,
    /** Direct links to other peers, when this peer can make them (WebRTC available). */
    private readonly direct: DirectRoutes | null = null,
  ) {}

  get open(): number {
    return this.outgoing.size + this.incoming.size;
  }

  /** Opens a tunnel to one member of the cluster `name`. */
  connect(name: string, options: TunnelOpening = {}): Promise<Tunnel> {
    const timeoutMs = options.timeout ?? DEFAULT_TUNNEL_TIMEOUT;
    const timeoutError = new TimeoutError(`tunnel to "${name}" not accepted within ${timeoutMs} ms`);
    const signal = options.signal;
    try {
      signal?.throwIfAborted();
      const keys = this.ctx.keyring.get("cluster", name);
      const tunnelId = this.nextTunnelId++;
      const handshake = new SessionHandshake("initiator", keys.payloadKey, SESSION_LABEL, this.ctx.crypto.secretbox);
      const messageId = this.ctx.ids.next();
      const body = concat(handshake.publicKey, Uint8Array.of(options.signalingOnly ? OPEN_SIGNALING_ONLY : 0));
      const sealed = sealFor(this.ctx, keys, body, Purpose.TunnelOpen, { messageId, sensitive: true });
      const frame = encodeFrame({
        type: FrameType.TunnelOpen,
        hops: MAX_HOPS,
        flags: 0,
        id: keys.id,
        origin: this.ctx.peerId,
        tunnelId,
        window: this.settings.window,
        sealed,
      });
      return new Promise<Tunnel>((resolve, reject) => {
        const giveUp = (error: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          if (!this.opening.delete(tunnelId)) return;
          // Tell the relay and a member that may still accept that we gave up.
          this.write(closeFrame(true, this.ctx.peerId, tunnelId, TunnelCloseCode.Timeout, "caller gave up waiting"));
          reject(error);
        };
        const onAbort = () => {
          this.ctx.clock.clearTimeout(timer);
          giveUp(signal!.reason);
        };
        const timer = this.ctx.clock.setTimeout(() => giveUp(timeoutError), timeoutMs);
        signal?.addEventListener("abort", onAbort, { once: true });
        const settle =
          <T>(fn: (value: T) => void) =>
          (value: T) => {
            this.ctx.clock.clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
            this.opening.delete(tunnelId);
            fn(value);
          };
        this.opening.set(tunnelId, { keys, handshake, messageId, resolve: settle(resolve), reject: settle(reject) });
        this.ctx.outbox.write(frame, timeoutMs).catch(() => {}); // the timer reports it
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A caller wants a tunnel with us, as a member of `service`'s cluster. */
  accept(frame: TunnelOpenFrame, service: TunnelService): void {
    const { keys } = service;
    const refuse = (code: (typeof TunnelCloseCode)[keyof typeof TunnelCloseCode], reason: string) =>
      this.write(closeFrame(false, frame.origin, frame.tunnelId, code, reason));
    const opened = openFresh(this.ctx, keys, frame.sealed, Purpose.TunnelOpen, `tunnel open for "${keys.name}"`);
    if (!opened) return;
    if (opened.body.length !== EPHEMERAL_KEY_BYTES + 1)
      return refuse(TunnelCloseCode.Protocol, "malformed tunnel open");
    const signalingOnly = (opened.body[EPHEMERAL_KEY_BYTES]! & OPEN_SIGNALING_ONLY) !== 0;
    if (signalingOnly) {
      if (!this.direct) return refuse(TunnelCloseCode.Refused, "this member makes no direct links");
    } else {
      if (!service.handler) return refuse(TunnelCloseCode.Refused, "this member does not accept tunnels");
      if (!service.admit()) return refuse(TunnelCloseCode.Refused, "member overloaded: no free tunnel slot");
    }
    const handshake = new SessionHandshake("responder", keys.payloadKey, SESSION_LABEL, this.ctx.crypto.secretbox);
    let cipher: SessionCipher;
    try {
      cipher = handshake.finish(opened.body.subarray(0, EPHEMERAL_KEY_BYTES));
    } catch (error) {
      if (!signalingOnly) service.release();
      return refuse(TunnelCloseCode.Protocol, (error as Error).message);
    }
    const key = `${toHex(frame.origin)}:${frame.tunnelId}`;
    const callerHex = toHex(frame.origin);
    const tunnel: Tunnel = new Tunnel(this.ctx, {
      role: "member",
      keys,
      // A copy, not a view: on Node the frame is a Buffer, whose slice() would keep the whole frame alive.
      origin: new Uint8Array(frame.origin),
      tunnelId: frame.tunnelId,
      remotePeer: callerHex,
      cipher,
      sendCredit: frame.window,
      settings: this.settings,
      // The member moves to a direct link only once it has heard from the caller over this tunnel: then
      // the caller surely knows the tunnel, and no piece sent directly can arrive before it does.
      routes: this.routes(callerHex, () => this.heard.has(tunnel)),
      onControl: (message) => this.onControl(tunnel, message),
      onEnded: () => {
        this.incoming.delete(key);
        this.heard.delete(tunnel);
        if (!signalingOnly) service.release();
      },
    });
    this.incoming.set(key, tunnel);
    // The accept tells the caller who we are (for a direct link), sealed with our ephemeral key.
    const sealed = sealFor(this.ctx, keys, concat(handshake.publicKey, this.ctx.peerId), Purpose.TunnelAccept, {
      inReplyTo: opened.messageId,
      sensitive: true,
    });
    this.write(
      encodeFrame({
        type: FrameType.TunnelAccept,
        origin: frame.origin,
        tunnelId: frame.tunnelId,
        window: this.settings.window,
        sealed,
      }),
    );
    if (signalingOnly) {
      // Nothing for the application: the tunnel ends when the caller closes it.
      drain(tunnel);
      return;
    }
    const handler = service.handler!;
    deliver(this.ctx, handler, tunnel, undefined, keys.name);
  }

  onAccept(frame: TunnelAcceptFrame): void {
    const opening = this.opening.get(frame.tunnelId);
    if (!opening) return;
    const opened = openFresh(
      this.ctx,
      opening.keys,
      frame.sealed,
      Purpose.TunnelAccept,
      `tunnel accept from "${opening.keys.name}"`,
    );
    if (!opened) return;
    if (
      !opened.inReplyTo ||
      !equalBytes(opened.inReplyTo, opening.messageId) ||
      opened.body.length !== EPHEMERAL_KEY_BYTES + PEER_ID_BYTES
    ) {
      this.ctx.report(new ProtocolError("tunnel accept is not bound to our open"), "tunnel accept");
      return;
    }
    let cipher: SessionCipher;
    try {
      cipher = opening.handshake.finish(opened.body.subarray(0, EPHEMERAL_KEY_BYTES));
    } catch (error) {
      this.write(closeFrame(true, this.ctx.peerId, frame.tunnelId, TunnelCloseCode.Protocol, "bad handshake"));
      return opening.reject(error as Error);
    }
    const memberHex = toHex(opened.body.subarray(EPHEMERAL_KEY_BYTES));
    const tunnel: Tunnel = new Tunnel(this.ctx, {
      role: "caller",
      keys: opening.keys,
      origin: this.ctx.peerId,
      tunnelId: frame.tunnelId,
      remotePeer: memberHex,
      cipher,
      sendCredit: frame.window,
      settings: this.settings,
      routes: this.routes(memberHex, () => true),
      onControl: (message) => this.onControl(tunnel, message),
      onEnded: () => this.outgoing.delete(frame.tunnelId),
    });
    this.outgoing.set(frame.tunnelId, tunnel);
    // Our first word on the tunnel; it also tells the member that we know the tunnel.
    tunnel.announce();
    if (this.direct?.link(memberHex)) tunnel.routeChanged();
    else this.direct?.initiate(memberHex, (signal) => tunnel.sendControl({ t: "rtc", signal }));
    opening.resolve(tunnel);
  }

  /**
   * A tunnel frame, from the relay route (`directFrom` null) or from a direct link with that peer. On a
   * direct link, only frames of tunnels with that very peer are taken.
   */
  onPath(frame: TunnelPathFrame, directFrom: string | null = null): void {
    const toMember = (frame.flags & TUNNEL_TO_MEMBER) !== 0;
    const tunnel = toMember
      ? this.incoming.get(`${toHex(frame.origin)}:${frame.tunnelId}`)
      : equalBytes(frame.origin, this.ctx.peerId)
        ? this.outgoing.get(frame.tunnelId)
        : undefined;
    if (!tunnel) {
      if (!toMember && directFrom === null && frame.type === FrameType.TunnelClose) {
        this.openFailed(frame.tunnelId, frame.code, frame.reason);
      }
      return;
    }
    if (directFrom !== null && directFrom !== tunnel.remotePeer) return;
    if (tunnel.role === "member" && !this.heard.has(tunnel)) {
      this.heard.add(tunnel);
      if (this.direct?.link(tunnel.remotePeer)) tunnel.routeChanged();
    }
    if (frame.type === FrameType.TunnelData) tunnel.onData(frame.seq, frame.sealed);
    else if (frame.type === FrameType.TunnelCredit) tunnel.onCredit(frame.granted, frame.ack);
    else tunnel.onClose(frame.code, frame.sent, frame.reason);
  }

  /** A direct link to `peerId` opened or closed: its tunnels change route. */
  directChanged(peerId: string): void {
    for (const tunnel of [...this.outgoing.values(), ...this.incoming.values()]) {
      if (tunnel.remotePeer === peerId) tunnel.routeChanged();
    }
  }

  private routes(peerId: string, ready: () => boolean): TunnelRoutes {
    return {
      relay: (frame) => this.ctx.outbox.write(frame),
      direct: () => (this.direct && ready() ? this.direct.link(peerId) : null),
    };
  }

  /** Signaling for a direct link, carried inside the tunnel (sealed, so no relay can alter it). */
  private onControl(tunnel: Tunnel, message: unknown): void {
    if (typeof message !== "object" || message === null) return;
    const { t, signal } = message as { t?: unknown; signal?: unknown };
    if (t === "rtc") {
      if (this.direct)
        this.direct.receive(tunnel.remotePeer, signal, (reply) => tunnel.sendControl({ t: "rtc", signal: reply }));
      else tunnel.sendControl({ t: "no-rtc" }); // tell the other side not to wait for us
    } else if (t === "no-rtc") {
      this.direct?.giveUp(tunnel.remotePeer);
    }
  }

  /** Every tunnel fails: the link they ran over is gone. */
  failAll(error: Error): void {
    for (const opening of [...this.opening.values()]) opening.reject(error);
    for (const tunnel of [...this.outgoing.values(), ...this.incoming.values()]) tunnel.fail(error, null);
  }

  private openFailed(tunnelId: number, code: number, reason: string): void {
    const opening = this.opening.get(tunnelId);
    if (!opening) return;
    const name = opening.keys.name;
    if (code === TunnelCloseCode.NoMembers) opening.reject(new NoMembersError(`no members in cluster "${name}"`));
    else if (code === TunnelCloseCode.Refused)
      opening.reject(new OverloadedError(`cluster "${name}" refused the tunnel: ${reason}`));
    else opening.reject(closeError(code as (typeof TunnelCloseCode)[keyof typeof TunnelCloseCode], reason));
  }

  private write(frame: Uint8Array): void {
    this.ctx.outbox.write(frame).catch(() => {});
  }
}

/** Reads a tunnel to its end, ignoring what arrives (signaling-only tunnels carry only control pieces). */
function drain(tunnel: Tunnel): void {
  (async () => {
    for await (const _ of tunnel);
  })().catch(() => {});
}

function closeFrame(
  toMember: boolean,
  origin: Uint8Array,
  tunnelId: number,
  code: (typeof TunnelCloseCode)[keyof typeof TunnelCloseCode],
  reason: string,
): Uint8Array {
  return encodeFrame({
    type: FrameType.TunnelClose,
    flags: toMember ? TUNNEL_TO_MEMBER : 0,
    origin,
    tunnelId,
    code,
    sent: 0,
    reason,
  });
}
