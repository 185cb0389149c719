// The relay's side of the peer protocol: the hello that proves who a peer is, joins and leaves with
// their proofs and limits, and the checks a peer's frames pass before the router sees them (a peer
// speaks only for itself). Apart from relay.ts, which owns the links and their lifecycle.

import { equalBytes, toHex } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import { peerIdOf, serviceId, verifyHello, verifyJoin } from "../crypto/keys.ts";
import { WireError } from "../wire/codec.ts";
import {
  FrameType,
  JoinKind,
  NackCode,
  TUNNEL_TO_MEMBER,
  TunnelCloseCode,
  WIRE_VERSION,
  decodeFrame,
  encodeFrame,
} from "../wire/frames.ts";
import type { Frame, HelloFrame, JoinFrame, LeaveFrame, RelayHelloFrame } from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import type { Inspections } from "./snapshot.ts";
import type { PeerSession } from "./peer-session.ts";
import type { RelayLog, RelaySettings } from "./relay-options.ts";
import type { Router } from "./router.ts";
import type { SigningBackend } from "../crypto/nacl.ts";
import type { RelayStats } from "./relay-stats.ts";

export interface PeerProtocolHost {
  relayId: Uint8Array;
  clock: Clock;
  settings: RelaySettings;
  maxMessage: number;
  maxFrame: number;
  router: Router;
  inspections: Inspections;
  signing: SigningBackend;
  stats: RelayStats;
  log: RelayLog;
  isDraining(): boolean;
  isRelayLink(session: PeerSession): boolean;
  /** A link that proved a relay identity said RelayHello: make it a relay link. */
  adoptRelay(session: PeerSession, frame: RelayHelloFrame): void;
  /** A peer proved who it is: this is its session from now on. */
  peerReady(session: PeerSession): void;
  /** The link said hello: from now on its watchdog, not the handshake deadline, decides when it is dead. */
  watch(session: PeerSession): void;
  /** Why this peer's previous link was reset, if it was, recently; forgotten once asked. */
  takeCut(peerHex: string): { code: number; reason: string; at: number } | null;
}

export class PeerProtocol {
  constructor(private readonly host: PeerProtocolHost) {}

  /** A frame on a link that is not (yet) a relay link. */
  onFrame(session: PeerSession, bytes: Uint8Array): void {
    const { router, settings } = this.host;
    if (session.state === "closed") return;
    session.watchdog?.heard();
    session.framesIn++;
    this.host.stats.countIn(bytes);
    if (bytes.length > this.host.maxFrame) {
      return this.violation(session, CloseCode.TooBig, `frame of ${bytes.length} bytes exceeds ${this.host.maxFrame}`);
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
    // A link that said it is a relay is no peer: it may only say RelayHello (or heartbeat) until that
    // makes it a relay link. Joins, requests or tunnels from it would outlive it: the relay cleans up
    // after peers only when a link closes.
    if (
      session.agent === "relay" &&
      frame.type !== FrameType.RelayHello &&
      frame.type !== FrameType.Ping &&
      frame.type !== FrameType.Pong
    ) {
      return this.violation(session, CloseCode.Protocol, "a relay says RelayHello after its hello");
    }
    switch (frame.type) {
      case FrameType.Ping:
        session.send(encodeFrame({ type: FrameType.Pong, stamp: frame.stamp }));
        return;
      case FrameType.Pong:
        return;
      case FrameType.RelayHello:
        return this.onRelayHello(session, frame);
      case FrameType.Join:
        return this.onJoin(session, frame);
      case FrameType.Leave:
        return this.onLeave(session, frame);
      case FrameType.Load:
        router.reportLoad(frame.id, session, frame.load);
        return;
      case FrameType.Request:
        if (this.fromOrigin(session, frame.origin)) router.request(session, bytes, frame);
        return;
      case FrameType.Reply:
        return router.reply(session, bytes, frame);
      case FrameType.Broadcast:
      case FrameType.Publish:
        if (this.fromOrigin(session, frame.origin)) router.multicast(session, bytes, frame);
        return;
      case FrameType.TunnelOpen:
        if (!this.fromOrigin(session, frame.origin)) return;
        if (router.tunnels.involving(session.peerHex).length >= settings.maxTunnelsPerPeer) {
          const reason = `at most ${settings.maxTunnelsPerPeer} tunnels per peer`;
          session.send(
            encodeFrame({
              type: FrameType.TunnelClose,
              flags: 0,
              origin: frame.origin,
              tunnelId: frame.tunnelId,
              code: TunnelCloseCode.Refused,
              sent: 0,
              reason,
            }),
          );
          return;
        }
        router.tunnelOpen(session, bytes, frame);
        return;
      case FrameType.TunnelAccept:
        return router.tunnelAccept(session, bytes, frame);
      case FrameType.TunnelData:
      case FrameType.TunnelCredit:
      case FrameType.TunnelClose:
        // A caller speaks for its own tunnels only; a member is checked against the path.
        if ((frame.flags & TUNNEL_TO_MEMBER) !== 0 && !equalBytes(frame.origin, session.peerId!)) return;
        return router.tunnelPath(session, bytes, frame);
      case FrameType.Inspect:
        return this.host.inspections.onPeerInspect(session, frame);
      default:
        return this.violation(session, CloseCode.Protocol, `unexpected frame type ${frame.type} from a peer`);
    }
  }

  private onHello(session: PeerSession, frame: HelloFrame): void {
    if (!verifyHello(this.host.signing, frame.identityKey, frame.signature, this.host.relayId, session.challenge)) {
      return this.violation(session, CloseCode.AuthFailed, "hello signature does not verify");
    }
    const peerId = peerIdOf(frame.identityKey);
    session.identify(peerId, frame.agent);
    // A peer whose link we reset comes straight back to learn why: its first dial gets the reason.
    const cut = this.host.takeCut(session.peerHex);
    if (cut) {
      const ago = Math.round(this.host.clock.now() - cut.at);
      return session.close(cut.code, `${cut.reason} (${ago} ms ago)`);
    }
    this.host.watch(session);
    session.onHandshakeDone?.();
    session.onHandshakeDone = null;
    session.send(
      encodeFrame({
        type: FrameType.Welcome,
        peerId,
        relayTime: this.host.clock.now(),
        heartbeatMs: this.host.settings.heartbeatMs,
        maxMessage: this.host.maxMessage,
      }),
    );
    // A relay says RelayHello next; it is not a peer and takes no peer slot.
    if (frame.agent === "relay") return;
    this.host.peerReady(session);
  }

  private onRelayHello(session: PeerSession, frame: RelayHelloFrame): void {
    if (session.agent !== "relay" || this.host.isRelayLink(session)) {
      return this.violation(session, CloseCode.Protocol, "relay hello from a peer");
    }
    this.host.adoptRelay(session, frame);
  }

  private onJoin(session: PeerSession, frame: JoinFrame): void {
    const { router, settings } = this.host;
    const id = serviceId(frame.kind, frame.nameHash, frame.publicKey);
    const idHex = toHex(id);
    const kind = frame.kind === JoinKind.Member ? "member" : "subscriber";
    if (!verifyJoin(this.host.signing, id, frame.publicKey, frame.signature, session.challenge)) {
      this.host.log("join-refused", { peer: session.peerHex, id: idHex, kind, reason: "bad proof" });
      session.send(nack(frame.corr, NackCode.BadProof, "proof of key does not verify"));
      return;
    }
    const joined = frame.kind === JoinKind.Member ? session.clusters : session.topics;
    if (!joined.has(idHex) && session.clusters.size + session.topics.size >= settings.maxJoinsPerPeer) {
      session.send(nack(frame.corr, NackCode.Limit, `at most ${settings.maxJoinsPerPeer} joins per peer`));
      return;
    }
    joined.add(idHex);
    session.send(encodeFrame({ type: FrameType.Ack, corr: frame.corr }));
    this.host.log("join", { peer: session.peerHex, id: idHex, kind });
    // A draining relay confirms joins (the peer is about to move anyway) but routes nothing new to them.
    if (this.host.isDraining()) return;
    if (frame.kind === JoinKind.Member) router.addMember(id, session);
    else router.addSubscriber(id, session);
  }

  private onLeave(session: PeerSession, frame: LeaveFrame): void {
    const { router } = this.host;
    const idHex = toHex(frame.id);
    if (frame.kind === JoinKind.Member) {
      session.clusters.delete(idHex);
      router.removeMember(idHex, session);
    } else {
      session.topics.delete(idHex);
      router.removeSubscriber(idHex, session);
    }
    session.send(encodeFrame({ type: FrameType.Ack, corr: frame.corr }));
  }

  private fromOrigin(session: PeerSession, origin: Uint8Array): boolean {
    if (session.peerId && equalBytes(origin, session.peerId)) return true;
    this.violation(session, CloseCode.Protocol, "frame origin is not the sending peer");
    return false;
  }

  private violation(session: PeerSession, code: number, message: string): void {
    if (session.state === "challenged")
      this.host.stats.refuse(code === CloseCode.AuthFailed ? "auth-failed" : "protocol");
    this.host.log("peer-error", { peer: session.label, code, reason: message });
    session.close(code, message);
  }
}

function nack(corr: number, code: (typeof NackCode)[keyof typeof NackCode], message: string): Uint8Array {
  return encodeFrame({ type: FrameType.Nack, corr, code, message });
}
