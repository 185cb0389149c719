// The relay engine, runtime-neutral: it accepts links from peers, proves who they are, and routes their
// frames. It never holds a cluster or topic key; it reads frame headers and forwards the very bytes it
// received. relay-server/ wraps it with a WebSocket listener, a CLI and logs; tests run it over
// in-memory links.

import { equalBytes, randomBytes, toHex, utf8 } from "../bytes.ts";
import { systemClock, every } from "../clock.ts";
import type { Clock } from "../clock.ts";
import { peerIdOf, serviceId, verifyHello, verifyJoin } from "../crypto/keys.ts";
import { WireError } from "../wire/codec.ts";
import {
  FRAME_HEADROOM,
  FrameType,
  JoinKind,
  NONCE_BYTES,
  NackCode,
  RELAY_ID_BYTES,
  REQUEST_FLAGS_OFFSET,
  REQUEST_RETRIED,
  ReplyStatus,
  TUNNEL_TO_MEMBER,
  TunnelCloseCode,
  WIRE_VERSION,
  decodeFrame,
  encodeFrame,
} from "../wire/frames.ts";
import type {
  Frame,
  HelloFrame,
  JoinFrame,
  LeaveFrame,
  ReplyStatus as ReplyStatusType,
  RequestFrame,
  TunnelAcceptFrame,
  TunnelCloseCode as TunnelCloseCodeType,
  TunnelOpenFrame,
  TunnelPathFrame,
} from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import type { Link } from "../transports/link.ts";
import { ServiceTable } from "./membership.ts";
import { PendingRequests, TunnelPaths, pathKey } from "./paths.ts";
import type { TunnelPath } from "./paths.ts";
import { Parking } from "./parking.ts";
import { PeerSession } from "./peer-session.ts";
import type { SlowConsumerPolicy } from "./peer-session.ts";

export interface RelayOptions {
  relayId?: Uint8Array;
  clock?: Clock;
  random?: () => number;
  /** Largest sealed message; frames may add headers on top. */
  maxMessage?: number;
  heartbeatMs?: number;
  /** Heartbeats a link may miss before it is declared dead. */
  missedHeartbeats?: number;
  handshakeTimeoutMs?: number;
  outboundQueueLimit?: number;
  slowConsumer?: SlowConsumerPolicy;
  maxJoinsPerPeer?: number;
  /**
   * For this long after the relay starts, work for a cluster without members waits for one to join
   * (peers of a restarted relay are still dialing back) instead of failing with NoMembers. 0 disables.
   */
  startupGraceMs?: number;
  log?: RelayLog;
}

export type RelayLog = (event: string, fields: Record<string, string | number | boolean>) => void;

export const RELAY_DEFAULTS = {
  maxMessage: 1024 * 1024,
  heartbeatMs: 1000,
  missedHeartbeats: 3,
  handshakeTimeoutMs: 5000,
  outboundQueueLimit: 8 * 1024 * 1024,
  slowConsumer: "disconnect" as SlowConsumerPolicy,
  maxJoinsPerPeer: 1024,
  startupGraceMs: 5000,
};

/** Most requests and tunnel opens a fresh relay holds for clusters that have no member yet. */
const PARKING_CAPACITY = 10_000;

/** A tunnel open carries no timeout of its own; parked, it waits at most this long. */
const TUNNEL_PARK_MS = 10_000;

/** A relay keeps an expired request this long past its deadline, to route a late reply. */
const PENDING_GRACE_MS = 1000;

export interface RelaySnapshot {
  relayId: string;
  peers: Array<{ peerId: string; agent: string; remote: string; clusters: string[]; topics: string[] }>;
  clusters: Array<{ id: string; members: number }>;
  topics: Array<{ id: string; subscribers: number }>;
  pendingRequests: number;
  /** Requests and tunnel opens waiting for a first member while the relay is fresh. */
  parked: number;
  tunnels: number;
}

export class Relay {
  readonly relayId: Uint8Array;
  readonly relayHex: string;
  readonly maxMessage: number;
  readonly maxFrame: number;
  private readonly clock: Clock;
  private readonly options: Required<Omit<RelayOptions, "relayId" | "clock" | "random" | "log">>;
  private readonly log: RelayLog;
  private readonly sessions = new Set<PeerSession>();
  private readonly byPeer = new Map<string, PeerSession>();
  private readonly services: ServiceTable<PeerSession>;
  private readonly pending = new PendingRequests<PeerSession>();
  private readonly tunnels = new TunnelPaths<PeerSession>();
  private readonly parking: Parking;
  private readonly stopHeartbeat: () => void;
  private closed = false;

  constructor(options: RelayOptions = {}) {
    this.relayId = options.relayId ?? randomBytes(RELAY_ID_BYTES);
    this.relayHex = toHex(this.relayId);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => {});
    this.options = {
      maxMessage: options.maxMessage ?? RELAY_DEFAULTS.maxMessage,
      heartbeatMs: options.heartbeatMs ?? RELAY_DEFAULTS.heartbeatMs,
      missedHeartbeats: options.missedHeartbeats ?? RELAY_DEFAULTS.missedHeartbeats,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? RELAY_DEFAULTS.handshakeTimeoutMs,
      outboundQueueLimit: options.outboundQueueLimit ?? RELAY_DEFAULTS.outboundQueueLimit,
      slowConsumer: options.slowConsumer ?? RELAY_DEFAULTS.slowConsumer,
      maxJoinsPerPeer: options.maxJoinsPerPeer ?? RELAY_DEFAULTS.maxJoinsPerPeer,
      startupGraceMs: options.startupGraceMs ?? RELAY_DEFAULTS.startupGraceMs,
    };
    this.parking = new Parking(this.clock.now() + this.options.startupGraceMs, PARKING_CAPACITY);
    this.maxMessage = this.options.maxMessage;
    this.maxFrame = this.maxMessage + FRAME_HEADROOM;
    this.services = new ServiceTable(options.random ?? Math.random);
    this.stopHeartbeat = every(this.clock, this.options.heartbeatMs, () => this.heartbeat());
  }

  /** Takes a new link from a peer and starts its handshake. */
  accept(link: Link): void {
    if (this.closed) {
      link.close(CloseCode.GoingAway, "relay is shutting down");
      return;
    }
    const session = new PeerSession(
      link,
      randomBytes(NONCE_BYTES),
      this.clock.now(),
      this.options.outboundQueueLimit,
      this.options.slowConsumer,
      (slow, queued) => this.log("slow-consumer", { peer: slow.label, queued, policy: this.options.slowConsumer }),
    );
    this.sessions.add(session);
    const handshakeTimer = this.clock.setTimeout(() => {
      if (session.state === "challenged") session.close(CloseCode.HandshakeTimeout, "handshake timed out");
    }, this.options.handshakeTimeoutMs);
    link.listen({
      frame: (bytes) => this.onFrame(session, bytes),
      close: (code, reason) => {
        this.clock.clearTimeout(handshakeTimer);
        this.onClosed(session, code, reason);
      },
    });
    session.send(encodeFrame({ type: FrameType.Challenge, relayId: this.relayId, nonce: session.challenge }));
  }

  snapshot(): RelaySnapshot {
    return {
      relayId: this.relayHex,
      peers: [...this.byPeer.values()].map((s) => ({
        peerId: s.peerHex,
        agent: s.agent,
        remote: s.link.remote,
        clusters: [...s.clusters],
        topics: [...s.topics],
      })),
      clusters: this.services.clusterIds().map((id) => ({ id, members: this.services.memberCount(id) })),
      topics: this.services.topicIds().map((id) => ({ id, subscribers: [...this.services.subscribersOf(id)].length })),
      pendingRequests: this.pending.size,
      parked: this.parking.size,
      tunnels: this.tunnels.size,
    };
  }

  /** Closes every link and stops the timers. */
  close(reason = "relay is shutting down"): void {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    for (const session of [...this.sessions]) session.close(CloseCode.GoingAway, reason);
  }

  private onFrame(session: PeerSession, bytes: Uint8Array): void {
    if (session.state === "closed") return;
    session.lastHeard = this.clock.now();
    session.framesIn++;
    if (bytes.length > this.maxFrame) {
      return this.violation(session, CloseCode.TooBig, `frame of ${bytes.length} bytes exceeds ${this.maxFrame}`);
    }
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      if (error instanceof WireError) {
        const code = error.reason === "version" ? CloseCode.Version : CloseCode.Protocol;
        const message =
          error.reason === "version" ? `protocol version mismatch: relay speaks ${WIRE_VERSION}` : error.message;
        return this.violation(session, code, message);
      }
      throw error;
    }
    if (session.state === "challenged") {
      if (frame.type !== FrameType.Hello) return this.violation(session, CloseCode.Protocol, "expected hello");
      return this.onHello(session, frame);
    }
    switch (frame.type) {
      case FrameType.Ping:
        session.send(encodeFrame({ type: FrameType.Pong, stamp: frame.stamp }));
        return;
      case FrameType.Pong:
        return;
      case FrameType.Join:
        return this.onJoin(session, frame);
      case FrameType.Leave:
        return this.onLeave(session, frame);
      case FrameType.Load:
        this.services.reportLoad(toHex(frame.id), session, frame.load);
        return;
      case FrameType.Request:
        return this.onRequest(session, bytes, frame);
      case FrameType.Reply:
        return this.onReply(session, bytes, toHex(frame.origin), frame.reqId);
      case FrameType.Broadcast:
      case FrameType.Publish: {
        if (!this.fromOrigin(session, frame.origin)) return;
        const id = toHex(frame.id);
        const targets =
          frame.type === FrameType.Broadcast ? this.services.membersOf(id) : this.services.subscribersOf(id);
        for (const target of targets) target.send(bytes);
        return;
      }
      case FrameType.TunnelOpen:
        return this.onTunnelOpen(session, bytes, frame);
      case FrameType.TunnelAccept:
        return this.onTunnelAccept(session, bytes, frame);
      case FrameType.TunnelData:
      case FrameType.TunnelCredit:
      case FrameType.TunnelClose:
        return this.onTunnelPath(session, bytes, frame);
      default:
        return this.violation(session, CloseCode.Protocol, `unexpected frame type ${frame.type} from a peer`);
    }
  }

  private onHello(session: PeerSession, frame: HelloFrame): void {
    if (!verifyHello(frame.identityKey, frame.signature, this.relayId, session.challenge)) {
      return this.violation(session, CloseCode.AuthFailed, "hello signature does not verify");
    }
    const peerId = peerIdOf(frame.identityKey);
    const previous = this.byPeer.get(toHex(peerId));
    // The same identity proved itself again: its old link is stale (the peer reconnected before we
    // noticed the old one die).
    if (previous) previous.close(CloseCode.Replaced, "replaced by a newer connection of the same peer");
    session.identify(peerId, frame.agent);
    this.byPeer.set(session.peerHex, session);
    session.send(
      encodeFrame({
        type: FrameType.Welcome,
        peerId,
        relayTime: this.clock.now(),
        heartbeatMs: this.options.heartbeatMs,
        maxMessage: this.maxMessage,
      }),
    );
    this.log("peer-joined", { peer: session.peerHex, agent: session.agent, remote: session.link.remote });
  }

  private onJoin(session: PeerSession, frame: JoinFrame): void {
    const id = serviceId(frame.kind, frame.nameHash, frame.publicKey);
    const idHex = toHex(id);
    const kind = frame.kind === JoinKind.Member ? "member" : "subscriber";
    if (!verifyJoin(id, frame.publicKey, frame.signature, session.challenge)) {
      this.log("join-refused", { peer: session.peerHex, id: idHex, kind, reason: "bad proof" });
      session.send(nack(frame.corr, NackCode.BadProof, "proof of key does not verify"));
      return;
    }
    const joined = frame.kind === JoinKind.Member ? session.clusters : session.topics;
    if (!joined.has(idHex) && session.clusters.size + session.topics.size >= this.options.maxJoinsPerPeer) {
      session.send(nack(frame.corr, NackCode.Limit, `at most ${this.options.maxJoinsPerPeer} joins per peer`));
      return;
    }
    joined.add(idHex);
    if (frame.kind === JoinKind.Member) this.services.addMember(idHex, session);
    else this.services.addSubscriber(idHex, session);
    session.send(encodeFrame({ type: FrameType.Ack, corr: frame.corr }));
    this.log("join", { peer: session.peerHex, id: idHex, kind });
    if (frame.kind === JoinKind.Member) this.unpark(idHex);
  }

  /** The cluster has a member now: route the work that waited for one. */
  private unpark(clusterId: string): void {
    for (const parked of this.parking.take(clusterId)) {
      const caller = this.byPeer.get(parked.callerHex);
      if (!caller) continue;
      const frame = decodeFrame(parked.bytes);
      if (frame.type === FrameType.Request) this.onRequest(caller, parked.bytes, frame);
      else if (frame.type === FrameType.TunnelOpen) this.onTunnelOpen(caller, parked.bytes, frame);
    }
  }

  /** Parks work for a memberless cluster while the relay is fresh; false when it must fail now. */
  private park(session: PeerSession, bytes: Uint8Array, clusterId: string, timeoutMs: number): boolean {
    const now = this.clock.now();
    const deadline = Math.min(now + timeoutMs, this.parking.until);
    return this.parking.park({ clusterId, callerHex: session.peerHex, bytes, deadline }, now);
  }

  private onLeave(session: PeerSession, frame: LeaveFrame): void {
    const idHex = toHex(frame.id);
    if (frame.kind === JoinKind.Member) {
      session.clusters.delete(idHex);
      this.services.removeMember(idHex, session);
    } else {
      session.topics.delete(idHex);
      this.services.removeSubscriber(idHex, session);
    }
    session.send(encodeFrame({ type: FrameType.Ack, corr: frame.corr }));
  }

  private onRequest(session: PeerSession, bytes: Uint8Array, frame: RequestFrame): void {
    if (!this.fromOrigin(session, frame.origin)) return;
    const key = pathKey(session.peerHex, frame.reqId);
    // A caller that reconnected re-sends what is still pending; the first copy is still on its way.
    if (this.pending.get(key)) return;
    const clusterId = toHex(frame.id);
    const member = this.services.pickMember(clusterId);
    if (!member) {
      if (this.park(session, bytes, clusterId, frame.timeoutMs)) return;
      session.send(relayReply(ReplyStatus.NoMembers, frame.origin, frame.reqId, "no members in this cluster"));
      return;
    }
    const entry = {
      key,
      clusterId,
      callerHex: session.peerHex,
      origin: frame.origin,
      reqId: frame.reqId,
      frame: bytes,
      member,
      retried: (frame.flags & REQUEST_RETRIED) !== 0,
      deadline: this.clock.now() + frame.timeoutMs + PENDING_GRACE_MS,
    };
    this.pending.add(entry);
    this.services.trackOutstanding(clusterId, member, 1);
    if (!member.send(bytes)) {
      this.pending.delete(entry);
      this.services.trackOutstanding(clusterId, member, -1);
      session.send(relayReply(ReplyStatus.Overloaded, frame.origin, frame.reqId, "member's queue is full"));
    }
  }

  private onReply(session: PeerSession, bytes: Uint8Array, callerHex: string, reqId: number): void {
    const entry = this.pending.get(pathKey(callerHex, reqId));
    // A late reply (the request expired) or one from a peer that was never asked: drop it.
    if (!entry || entry.member !== session) return;
    this.pending.delete(entry);
    this.services.trackOutstanding(entry.clusterId, session, -1);
    this.byPeer.get(callerHex)?.send(bytes);
  }

  private onTunnelOpen(session: PeerSession, bytes: Uint8Array, frame: TunnelOpenFrame): void {
    if (!this.fromOrigin(session, frame.origin)) return;
    const key = pathKey(session.peerHex, frame.tunnelId);
    if (this.tunnels.get(key)) {
      return this.violation(session, CloseCode.Protocol, `tunnel id ${frame.tunnelId} is already open`);
    }
    const clusterId = toHex(frame.id);
    const member = this.services.pickMember(clusterId);
    if (!member) {
      if (this.park(session, bytes, clusterId, TUNNEL_PARK_MS)) return;
      session.send(tunnelClose(false, frame.origin, frame.tunnelId, TunnelCloseCode.NoMembers, "no members in this cluster"));
      return;
    }
    this.tunnels.add({
      key,
      clusterId,
      callerHex: session.peerHex,
      origin: frame.origin,
      tunnelId: frame.tunnelId,
      member,
      accepted: false,
      closedToMember: false,
      closedToCaller: false,
    });
    member.send(bytes);
  }

  private onTunnelAccept(session: PeerSession, bytes: Uint8Array, frame: TunnelAcceptFrame): void {
    const path = this.tunnels.get(pathKey(toHex(frame.origin), frame.tunnelId));
    if (!path || path.member !== session || path.accepted) return;
    path.accepted = true;
    this.toCaller(path, bytes);
  }

  private onTunnelPath(session: PeerSession, bytes: Uint8Array, frame: TunnelPathFrame): void {
    const originHex = toHex(frame.origin);
    const path = this.tunnels.get(pathKey(originHex, frame.tunnelId));
    const toMember = (frame.flags & TUNNEL_TO_MEMBER) !== 0;
    // Each end may only speak for its own side of its own tunnels.
    const sender = toMember ? originHex === session.peerHex : path?.member === session;
    if (!path || !sender) return;
    if (frame.type === FrameType.TunnelClose) {
      if (toMember) path.closedToMember = true;
      else path.closedToCaller = true;
      if (frame.code !== TunnelCloseCode.Normal || (path.closedToMember && path.closedToCaller)) {
        this.tunnels.delete(path);
      }
    }
    const delivered = toMember ? path.member.send(bytes) : this.toCaller(path, bytes);
    if (!delivered && this.tunnels.get(path.key)) {
      this.tunnels.delete(path);
      session.send(tunnelClose(!toMember, frame.origin, frame.tunnelId, TunnelCloseCode.LinkLost, "the other end is gone"));
    }
  }

  private toCaller(path: TunnelPath<PeerSession>, bytes: Uint8Array): boolean {
    return this.byPeer.get(path.callerHex)?.send(bytes) ?? false;
  }

  private onClosed(session: PeerSession, code: number, reason: string): void {
    session.state = "closed";
    this.sessions.delete(session);
    if (!session.peerId) return;
    if (this.byPeer.get(session.peerHex) === session) this.byPeer.delete(session.peerHex);
    for (const id of session.clusters) this.services.removeMember(id, session);
    for (const id of session.topics) this.services.removeSubscriber(id, session);
    this.log("peer-left", { peer: session.peerHex, code, reason });
    this.retryRequestsOf(session);
    this.closeTunnelsOf(session);
  }

  /** Requests the lost member had not answered go, once, to another member; otherwise fail at once. */
  private retryRequestsOf(lost: PeerSession): void {
    for (const entry of this.pending.atMember(lost)) {
      const next = entry.retried ? undefined : this.services.pickMember(entry.clusterId, lost);
      const caller = this.byPeer.get(entry.callerHex);
      if (next) {
        this.pending.reassign(entry, next);
        this.services.trackOutstanding(entry.clusterId, next, 1);
        entry.frame[REQUEST_FLAGS_OFFSET]! |= REQUEST_RETRIED;
        if (next.send(entry.frame)) continue;
      }
      this.pending.delete(entry);
      caller?.send(relayReply(ReplyStatus.MemberLost, entry.origin, entry.reqId, "member left before replying"));
    }
  }

  private closeTunnelsOf(session: PeerSession): void {
    for (const path of [...this.tunnels.involving(session), ...this.tunnels.involving(session.peerHex)]) {
      if (!this.tunnels.get(path.key)) continue;
      this.tunnels.delete(path);
      const reason = "the other end of the tunnel lost its link";
      const notice = (toMember: boolean) => tunnelClose(toMember, path.origin, path.tunnelId, TunnelCloseCode.LinkLost, reason);
      if (path.member === session) this.toCaller(path, notice(false));
      else path.member.send(notice(true));
    }
  }

  private heartbeat(): void {
    const now = this.clock.now();
    const deadAfter = this.options.heartbeatMs * this.options.missedHeartbeats;
    const ping = encodeFrame({ type: FrameType.Ping, stamp: now });
    for (const session of [...this.sessions]) {
      if (!session.ready) continue;
      if (now - session.lastHeard > deadAfter) {
        session.close(CloseCode.HeartbeatTimeout, `no heartbeat for ${now - session.lastHeard} ms`);
        continue;
      }
      session.send(ping);
    }
    for (const entry of this.pending.expire(now)) this.services.trackOutstanding(entry.clusterId, entry.member, -1);
    for (const parked of this.parking.expire(now)) this.noMembers(parked.callerHex, parked.bytes);
  }

  /** Tells a caller that the work it parked found no member after all. */
  private noMembers(callerHex: string, bytes: Uint8Array): void {
    const caller = this.byPeer.get(callerHex);
    if (!caller) return;
    const frame = decodeFrame(bytes);
    const message = "no members in this cluster";
    if (frame.type === FrameType.Request) caller.send(relayReply(ReplyStatus.NoMembers, frame.origin, frame.reqId, message));
    else if (frame.type === FrameType.TunnelOpen) {
      caller.send(tunnelClose(false, frame.origin, frame.tunnelId, TunnelCloseCode.NoMembers, message));
    }
  }

  private fromOrigin(session: PeerSession, origin: Uint8Array): boolean {
    if (session.peerId && equalBytes(origin, session.peerId)) return true;
    this.violation(session, CloseCode.Protocol, "frame origin is not the sending peer");
    return false;
  }

  private violation(session: PeerSession, code: number, message: string): void {
    this.log("peer-error", { peer: session.label, code, reason: message });
    session.close(code, message);
  }
}

function nack(corr: number, code: (typeof NackCode)[keyof typeof NackCode], message: string): Uint8Array {
  return encodeFrame({ type: FrameType.Nack, corr, code, message });
}

function relayReply(status: ReplyStatusType, origin: Uint8Array, reqId: number, message: string): Uint8Array {
  return encodeFrame({ type: FrameType.Reply, status, origin, reqId, body: utf8(message) });
}

function tunnelClose(
  toMember: boolean,
  origin: Uint8Array,
  tunnelId: number,
  code: TunnelCloseCodeType,
  reason: string,
): Uint8Array {
  return encodeFrame({
    type: FrameType.TunnelClose,
    flags: toMember ? TUNNEL_TO_MEMBER : 0,
    origin,
    tunnelId,
    code,
    reason,
  });
}
