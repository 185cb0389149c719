// The relay engine, runtime-neutral. It accepts links, proves who is on the other end (a peer, or a
// relay), keeps them alive with heartbeats, and hands traffic to the router (router.ts) and the
// backbone (backbone.ts). It never holds a cluster or topic key: it reads frame headers and forwards
// the very bytes it received. relay-server/ wraps it with a WebSocket listener, a CLI and logs; tests
// and simulations run it over in-memory links.

import { equalBytes, randomBytes, toHex } from "../bytes.ts";
import { every, systemClock } from "../clock.ts";
import type { Clock } from "../clock.ts";
import { generateIdentity, peerIdOf, serviceId, verifyHello, verifyJoin } from "../crypto/keys.ts";
import type { SigningKeyPair } from "../crypto/nacl.ts";
import { WireError } from "../wire/codec.ts";
import {
  FRAME_HEADROOM,
  FrameType,
  JoinKind,
  MAX_HOPS,
  NONCE_BYTES,
  NackCode,
  RELAY_ID_BYTES,
  TUNNEL_TO_MEMBER,
  TunnelCloseCode,
  WIRE_VERSION,
  decodeFrame,
  encodeFrame,
} from "../wire/frames.ts";
import type { Frame, HelloFrame, InspectFrame, InspectReplyFrame, JoinFrame, LeaveFrame } from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import type { Dialer, Link } from "../transports/link.ts";
import { Backbone } from "./backbone.ts";
import { spendHop } from "./hop-budget.ts";
import { PeerSession } from "./peer-session.ts";
import type { SlowConsumerPolicy } from "./peer-session.ts";
import type { RelayLink } from "./relay-link.ts";
import { Router } from "./router.ts";
import { networkKeys, secureLink } from "../transports/secure-link.ts";
import type { NetworkKeys } from "../transports/secure-link.ts";

export interface RelayOptions {
  /** The relay's long-lived identity; its relay id derives from it. A fresh one is made otherwise. */
  identity?: SigningKeyPair;
  /** Where peers and other relays reach this relay, as they should dial it. */
  address?: string;
  /** Relays to link to at start. */
  seeds?: string[];
  /**
   * A closed backbone: every link (peers' and relays') must prove this key in a handshake first, and
   * every frame on it is sealed. Peers and relays without it are refused.
   */
  networkKey?: Uint8Array;
  /** How to dial other relays; without one the relay only accepts links. */
  dialer?: Dialer;
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
  /** Tunnels a peer may have open as a caller at once, at this relay. */
  maxTunnelsPerPeer?: number;
  /** Links one network address may hold open at once (peers behind one NAT share an address). */
  maxLinksPerAddress?: number;
  /** Links from one address that may be in their handshake at once: a flood of hellos costs little. */
  maxHandshakesPerAddress?: number;
  /** Most links to other relays, incoming included. */
  maxRelayLinks?: number;
  /**
   * For this long after the relay starts, work for a cluster without members waits for one to join
   * (peers of a restarted relay are still dialing back) instead of failing with NoMembers. 0 disables.
   */
  startupGraceMs?: number;
  /** How often the relay reconsiders its relay links and gossips its directory. */
  maintenanceMs?: number;
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
  maxTunnelsPerPeer: 256,
  maxLinksPerAddress: 1024,
  maxHandshakesPerAddress: 32,
  maxRelayLinks: 16,
  startupGraceMs: 5000,
  maintenanceMs: 1000,
};

/** Relay links carry everyone's traffic: their queues may hold this many times a peer link's. */
const RELAY_QUEUE_FACTOR = 4;
/** Peers are told about at most this many other relays to fail over to. */
const FAILOVER_RELAYS = 8;

export interface RelaySnapshot {
  relayId: string;
  address: string;
  draining: boolean;
  /** `dropped`: frames refused because the link's queue was full (they are lost). */
  links: Array<{ relayId: string; address: string; direction: "in" | "out"; draining: boolean; dropped: number }>;
  directory: Array<{ relayId: string; address: string }>;
  peers: Array<{ peerId: string; agent: string; remote: string; clusters: string[]; topics: string[] }>;
  trees: Array<{ id: string; root: boolean; parent: string | null; children: Array<{ relayId: string; count: number }>; local: number }>;
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
  readonly address: string;
  readonly maxMessage: number;
  readonly maxFrame: number;
  readonly backbone: Backbone;
  private readonly identity: SigningKeyPair;
  private readonly clock: Clock;
  private readonly options: Required<Omit<RelayOptions, "identity" | "address" | "seeds" | "dialer" | "clock" | "random" | "log" | "networkKey">>;
  private readonly networkKeys: NetworkKeys | null;
  private readonly log: RelayLog;
  private readonly sessions = new Set<PeerSession>();
  private readonly byPeer = new Map<string, PeerSession>();
  /** Accepted links that turned out to be relays. */
  private readonly relayLinks = new Map<PeerSession, RelayLink>();
  private readonly router: Router;
  private readonly inspections = new Map<number, { session: PeerSession; corr: number }>();
  private readonly byAddress = new Map<string, { open: number; handshaking: number }>();
  private nextInspection = 1;
  private readonly stopHeartbeat: () => void;
  private announcedRelays = "";
  private closed = false;
  private draining = false;

  constructor(options: RelayOptions = {}) {
    this.identity = options.identity ?? generateIdentity();
    this.relayId = peerIdOf(this.identity.publicKey);
    this.relayHex = toHex(this.relayId);
    this.address = options.address ?? `relay:${this.relayHex.slice(0, 12)}`;
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
      maxTunnelsPerPeer: options.maxTunnelsPerPeer ?? RELAY_DEFAULTS.maxTunnelsPerPeer,
      maxLinksPerAddress: options.maxLinksPerAddress ?? RELAY_DEFAULTS.maxLinksPerAddress,
      maxHandshakesPerAddress: options.maxHandshakesPerAddress ?? RELAY_DEFAULTS.maxHandshakesPerAddress,
      maxRelayLinks: options.maxRelayLinks ?? RELAY_DEFAULTS.maxRelayLinks,
      startupGraceMs: options.startupGraceMs ?? RELAY_DEFAULTS.startupGraceMs,
      maintenanceMs: options.maintenanceMs ?? RELAY_DEFAULTS.maintenanceMs,
    };
    this.networkKeys = options.networkKey ? networkKeys(options.networkKey) : null;
    this.maxMessage = this.options.maxMessage;
    this.maxFrame = this.maxMessage + FRAME_HEADROOM;
    const random = options.random ?? Math.random;
    this.router = new Router(
      {
        clock: this.clock,
        random,
        nextHop: (key) => this.backbone.nextHop(key),
        peer: (hex) => this.byPeer.get(hex),
        log: this.log,
      },
      { startupGraceMs: this.options.startupGraceMs },
    );
    this.backbone = new Backbone(
      {
        relayId: this.relayId,
        identity: this.identity,
        address: this.address,
        seeds: options.seeds ?? [],
        dialer: options.dialer ?? null,
        clock: this.clock,
        random,
        maxLinks: this.options.maxRelayLinks,
        maxFrame: this.maxFrame,
        outboundLimit: this.options.outboundQueueLimit * RELAY_QUEUE_FACTOR,
        handshakeTimeoutMs: this.options.handshakeTimeoutMs,
        maintenanceMs: this.options.maintenanceMs,
        networkKeys: this.networkKeys,
        log: this.log,
      },
      {
        linkUp: () => this.linksChanged(),
        linkDown: (link) => {
          this.router.hopGone(link);
          this.linksChanged();
        },
        linkDraining: () => this.linksChanged(),
        relayFrame: (link, frame, bytes) => this.onRelayFrame(link, frame, bytes),
      },
    );
    this.stopHeartbeat = every(this.clock, this.options.heartbeatMs, () => this.heartbeat());
    this.backbone.start();
  }

  /**
   * Takes a new link (from a peer, or from a relay that dialed us) and starts its handshake. `address`
   * names where it comes from (an IP address) for the per-address limits; links without one are not
   * counted (in-memory links in tests, say).
   */
  accept(link: Link, address?: string): void {
    if (this.closed || this.draining) {
      link.close(this.closed ? CloseCode.GoingAway : CloseCode.Draining, "relay is shutting down");
      return;
    }
    const counts = address === undefined ? null : this.countsOf(address);
    if (counts && (counts.open >= this.options.maxLinksPerAddress || counts.handshaking >= this.options.maxHandshakesPerAddress)) {
      const what = counts.open >= this.options.maxLinksPerAddress ? "links" : "handshakes in progress";
      this.log("address-limit", { address: address!, what });
      link.close(CloseCode.Limit, `too many ${what} from this address`);
      return;
    }
    if (counts) {
      counts.open++;
      counts.handshaking++;
    }
    if (!this.networkKeys) return this.startSession(link, counts, address);
    // A closed backbone: the link must prove the network key first, and is sealed from then on.
    secureLink(link, { role: "responder", keys: this.networkKeys, clock: this.clock, timeoutMs: this.options.handshakeTimeoutMs }).then(
      (secured) => this.startSession(secured, counts, address),
      (error: Error) => {
        this.log("network-key-refused", { remote: link.remote, reason: error.message });
        if (counts) {
          counts.handshaking--;
          counts.open--;
          if (counts.open === 0) this.byAddress.delete(address!);
        }
      },
    );
  }

  private startSession(link: Link, counts: { open: number; handshaking: number } | null, address: string | undefined): void {
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
    session.onHandshakeDone = () => {
      if (counts) counts.handshaking--;
    };
    link.listen({
      frame: (bytes) => {
        const relayLink = this.relayLinks.get(session);
        if (relayLink) this.backbone.onFrame(relayLink, bytes);
        else this.onFrame(session, bytes);
      },
      close: (code, reason) => {
        this.clock.clearTimeout(handshakeTimer);
        if (counts) {
          if (session.onHandshakeDone) counts.handshaking--;
          counts.open--;
          if (counts.open === 0) this.byAddress.delete(address!);
        }
        const relayLink = this.relayLinks.get(session);
        if (relayLink) {
          this.relayLinks.delete(session);
          this.sessions.delete(session);
          this.backbone.onClose(relayLink);
        } else {
          this.onClosed(session, code, reason);
        }
      },
    });
    session.send(encodeFrame({ type: FrameType.Challenge, relayId: this.relayId, nonce: session.challenge }));
  }

  private countsOf(address: string): { open: number; handshaking: number } {
    let counts = this.byAddress.get(address);
    if (!counts) this.byAddress.set(address, (counts = { open: 0, handshaking: 0 }));
    return counts;
  }

  /** Routes a probe to the relay closest to `target` and reports the hops it took. */
  probe(target: Uint8Array): Promise<{ hops: number; responder: string }> {
    return this.backbone.probe(target);
  }

  snapshot(): RelaySnapshot {
    const services = this.router.services;
    return {
      relayId: this.relayHex,
      address: this.address,
      draining: this.draining,
      links: this.backbone.allLinks().map((link) => ({
        relayId: link.hex,
        address: link.address,
        direction: link.outgoing ? "out" : "in",
        draining: link.draining,
        dropped: link.dropped,
      })),
      directory: this.backbone.directory().map((relay) => ({ relayId: relay.hex, address: relay.address })),
      peers: [...this.byPeer.values()].map((s) => ({
        peerId: s.peerHex,
        agent: s.agent,
        remote: s.link.remote,
        clusters: [...s.clusters],
        topics: [...s.topics],
      })),
      trees: [...this.router.trees.all()].map((tree) => ({
        id: tree.id,
        root: tree.parent === null,
        parent: tree.parent?.hex ?? null,
        children: [...tree.children].map(([link, aggregate]) => ({ relayId: link.hex, count: aggregate.count })),
        local: services.memberCount(tree.id) + services.subscriberCount(tree.id),
      })),
      clusters: services.clusterIds().map((id) => ({ id, members: services.memberCount(id) })),
      topics: services.topicIds().map((id) => ({ id, subscribers: services.subscriberCount(id) })),
      pendingRequests: this.router.pending.size,
      parked: this.router.parking.size,
      tunnels: this.router.tunnels.size,
    };
  }

  /**
   * Leaves gracefully: accepts nothing new, tells the other relays to route around it, lets the work
   * already given to its members finish, asks its peers to move to other relays, and closes. No request
   * needs to fail: callers that move re-send what is pending, and members answer duplicates from their
   * reply cache. Resolves when done or after `timeoutMs`.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (this.closed || this.draining) return;
    this.draining = true;
    const start = this.clock.now();
    const deadline = start + timeoutMs;
    this.log("relay-draining", { peers: this.byPeer.size, pending: this.router.pending.size });
    this.backbone.announceDraining();
    this.linksChanged();
    // No new work for local members: take them out of every tree (their relays above learn at once).
    for (const session of this.byPeer.values()) {
      for (const id of session.clusters) this.router.removeMember(id, session);
      for (const id of session.topics) this.router.removeSubscriber(id, session);
    }
    // Half the time for the members' work in progress, half for the peers to move. Requests from
    // local callers still flow meanwhile, to members elsewhere.
    await this.waitUntil(() => this.router.pendingAtLocalMembers() === 0, start + timeoutMs / 2);
    const alternatives = this.backbone.neighborAddresses();
    const goAway = encodeFrame({ type: FrameType.GoAway, reason: "relay is draining" });
    const relays = this.relaysFrame(alternatives);
    for (const session of this.byPeer.values()) {
      if (relays) session.send(relays);
      session.send(goAway);
    }
    // Requests passing through for others need not be waited for: when the links close, the relay
    // before this one places them again.
    await this.waitUntil(() => this.byPeer.size === 0 && this.router.pendingAtLocalMembers() === 0, deadline);
    this.log("relay-drained", { peers: this.byPeer.size, pending: this.router.pending.size });
    this.close("relay drained");
  }

  /** Closes every link and stops the timers. */
  close(reason = "relay is shutting down"): void {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    this.router.stop();
    this.backbone.stop();
    for (const session of [...this.sessions]) session.close(CloseCode.GoingAway, reason);
  }

  private waitUntil(done: () => boolean, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (done() || this.clock.now() >= deadline || this.closed) return resolve();
        this.clock.setTimeout(check, 50);
      };
      check();
    });
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
    // A link that said it is a relay is no peer: it may only say RelayHello (or heartbeat) until that
    // makes it a relay link. Joins, requests or tunnels from it would outlive it: onClosed cleans up
    // after peers only.
    if (session.agent === "relay" && frame.type !== FrameType.RelayHello && frame.type !== FrameType.Ping && frame.type !== FrameType.Pong) {
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
        this.router.reportLoad(frame.id, session, frame.load);
        return;
      case FrameType.Request:
        if (this.fromOrigin(session, frame.origin)) this.router.request(session, bytes, frame);
        return;
      case FrameType.Reply:
        return this.router.reply(session, bytes, frame);
      case FrameType.Broadcast:
      case FrameType.Publish:
        if (this.fromOrigin(session, frame.origin)) this.router.multicast(session, bytes, frame);
        return;
      case FrameType.TunnelOpen:
        if (!this.fromOrigin(session, frame.origin)) return;
        if (this.router.tunnels.involving(session.peerHex).length >= this.options.maxTunnelsPerPeer) {
          const reason = `at most ${this.options.maxTunnelsPerPeer} tunnels per peer`;
          session.send(
            encodeFrame({ type: FrameType.TunnelClose, flags: 0, origin: frame.origin, tunnelId: frame.tunnelId, code: TunnelCloseCode.Refused, sent: 0, reason }),
          );
          return;
        }
        this.router.tunnelOpen(session, bytes, frame);
        return;
      case FrameType.TunnelAccept:
        return this.router.tunnelAccept(session, bytes, frame);
      case FrameType.TunnelData:
      case FrameType.TunnelCredit:
      case FrameType.TunnelClose:
        // A caller speaks for its own tunnels only; a member is checked against the path.
        if ((frame.flags & TUNNEL_TO_MEMBER) !== 0 && !equalBytes(frame.origin, session.peerId!)) return;
        return this.router.tunnelPath(session, bytes, frame);
      case FrameType.Inspect:
        return this.onPeerInspect(session, frame);
      default:
        return this.violation(session, CloseCode.Protocol, `unexpected frame type ${frame.type} from a peer`);
    }
  }

  private onRelayFrame(link: RelayLink, frame: Frame, bytes: Uint8Array): void {
    switch (frame.type) {
      case FrameType.TreeUpdate:
        return this.router.treeUpdate(link, frame);
      case FrameType.Request:
        return this.router.request(link, bytes, frame);
      case FrameType.Reply:
        return this.router.reply(link, bytes, frame);
      case FrameType.Broadcast:
      case FrameType.Publish:
        return this.router.multicast(link, bytes, frame);
      case FrameType.TunnelOpen:
        return this.router.tunnelOpen(link, bytes, frame);
      case FrameType.TunnelAccept:
        return this.router.tunnelAccept(link, bytes, frame);
      case FrameType.TunnelData:
      case FrameType.TunnelCredit:
      case FrameType.TunnelClose:
        return this.router.tunnelPath(link, bytes, frame);
      case FrameType.Inspect:
        return this.routeInspect(frame, bytes);
      case FrameType.InspectReply:
        return this.routeInspectReply(frame, bytes);
    }
  }

  private onHello(session: PeerSession, frame: HelloFrame): void {
    if (!verifyHello(frame.identityKey, frame.signature, this.relayId, session.challenge)) {
      return this.violation(session, CloseCode.AuthFailed, "hello signature does not verify");
    }
    const peerId = peerIdOf(frame.identityKey);
    session.identify(peerId, frame.agent);
    session.onHandshakeDone?.();
    session.onHandshakeDone = null;
    session.send(
      encodeFrame({
        type: FrameType.Welcome,
        peerId,
        relayTime: this.clock.now(),
        heartbeatMs: this.options.heartbeatMs,
        maxMessage: this.maxMessage,
      }),
    );
    // A relay says RelayHello next; it is not a peer and takes no peer slot.
    if (frame.agent === "relay") return;
    const previous = this.byPeer.get(session.peerHex);
    // The same identity proved itself again: its old link is stale (the peer reconnected before we
    // noticed the old one die).
    if (previous) previous.close(CloseCode.Replaced, "replaced by a newer connection of the same peer");
    this.byPeer.set(session.peerHex, session);
    const relays = this.relaysFrame(this.backbone.neighborAddresses());
    if (relays) session.send(relays);
    this.log("peer-joined", { peer: session.peerHex, agent: session.agent, remote: session.link.remote });
  }

  private onRelayHello(session: PeerSession, frame: Extract<Frame, { type: typeof FrameType.RelayHello }>): void {
    if (session.agent !== "relay" || this.relayLinks.has(session)) {
      return this.violation(session, CloseCode.Protocol, "relay hello from a peer");
    }
    const relayLink = this.backbone.adopt(session.link, session.peerId!, frame);
    if (relayLink) this.relayLinks.set(session, relayLink);
    else this.sessions.delete(session);
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
    session.send(encodeFrame({ type: FrameType.Ack, corr: frame.corr }));
    this.log("join", { peer: session.peerHex, id: idHex, kind });
    // A draining relay confirms joins (the peer is about to move anyway) but routes nothing new to them.
    if (this.draining) return;
    if (frame.kind === JoinKind.Member) this.router.addMember(id, session);
    else this.router.addSubscriber(id, session);
  }

  private onLeave(session: PeerSession, frame: LeaveFrame): void {
    const idHex = toHex(frame.id);
    if (frame.kind === JoinKind.Member) {
      session.clusters.delete(idHex);
      this.router.removeMember(idHex, session);
    } else {
      session.topics.delete(idHex);
      this.router.removeSubscriber(idHex, session);
    }
    session.send(encodeFrame({ type: FrameType.Ack, corr: frame.corr }));
  }

  // Inspection: a peer asks for this relay's report, or another relay's, routed by relay id.

  private onPeerInspect(session: PeerSession, frame: InspectFrame): void {
    const corr = this.nextInspection++;
    this.inspections.set(corr, { session, corr: frame.corr });
    const target = isZero(frame.target) ? this.relayId : frame.target;
    const bytes = encodeFrame({ type: FrameType.Inspect, hops: MAX_HOPS, corr, origin: this.relayId, target });
    this.routeInspect(decodeFrame(bytes) as InspectFrame, bytes, true);
  }

  private routeInspect(frame: InspectFrame, bytes: Uint8Array, local = false): void {
    if (!local && !spendHop(bytes)) return;
    if (!equalBytes(frame.target, this.relayId)) {
      const next = this.backbone.nextHop(frame.target);
      if (next) return void next.send(bytes);
      // Nobody closer: the target is not in the network. Answer so the asker is not left waiting.
    }
    const report = equalBytes(frame.target, this.relayId) ? JSON.stringify(this.snapshot()) : JSON.stringify({ error: "no such relay" });
    const reply = encodeFrame({ type: FrameType.InspectReply, hops: MAX_HOPS, corr: frame.corr, origin: frame.origin, report });
    this.routeInspectReply(decodeFrame(reply) as InspectReplyFrame, reply, true);
  }

  private routeInspectReply(frame: InspectReplyFrame, bytes: Uint8Array, local = false): void {
    if (equalBytes(frame.origin, this.relayId)) {
      const asker = this.inspections.get(frame.corr);
      this.inspections.delete(frame.corr);
      if (asker && !asker.session.gone) {
        asker.session.send(encodeFrame({ ...frame, corr: asker.corr }));
      }
      return;
    }
    if (!local && !spendHop(bytes)) return;
    this.backbone.nextHop(frame.origin)?.send(bytes);
  }

  private onClosed(session: PeerSession, code: number, reason: string): void {
    session.state = "closed";
    this.sessions.delete(session);
    if (!session.peerId || session.agent === "relay") return;
    if (this.byPeer.get(session.peerHex) === session) this.byPeer.delete(session.peerHex);
    this.log("peer-left", { peer: session.peerHex, code, reason });
    this.router.hopGone(session);
  }

  private linksChanged(): void {
    this.router.routingChanged();
    // Peers learn where else they can go when this relay fails.
    const addresses = this.backbone.neighborAddresses();
    const announced = addresses.join(" ");
    if (announced === this.announcedRelays) return;
    this.announcedRelays = announced;
    const frame = this.relaysFrame(addresses);
    if (frame) for (const session of this.byPeer.values()) session.send(frame);
  }

  private relaysFrame(addresses: string[]): Uint8Array | null {
    if (addresses.length === 0) return null;
    const relays = addresses.slice(0, FAILOVER_RELAYS).map((address) => ({ id: new Uint8Array(RELAY_ID_BYTES), address, age: 0 }));
    return encodeFrame({ type: FrameType.Relays, relays });
  }

  private heartbeat(): void {
    const now = this.clock.now();
    const deadAfter = this.options.heartbeatMs * this.options.missedHeartbeats;
    const ping = encodeFrame({ type: FrameType.Ping, stamp: now });
    for (const session of [...this.sessions]) {
      if (!session.ready || this.relayLinks.has(session)) continue;
      if (now - session.lastHeard > deadAfter) {
        session.close(CloseCode.HeartbeatTimeout, `no heartbeat for ${now - session.lastHeard} ms`);
        continue;
      }
      session.send(ping);
    }
    for (const link of this.backbone.allLinks()) {
      if (now - link.lastHeard > deadAfter) {
        link.close(CloseCode.HeartbeatTimeout, `no heartbeat for ${now - link.lastHeard} ms`);
        this.backbone.onClose(link);
        continue;
      }
      link.send(ping);
    }
    this.router.sweep(now);
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

function isZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}
