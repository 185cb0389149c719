// The relay engine, runtime-neutral. It accepts links (admission.ts), proves who is on the other end
// (a peer: peer-protocol.ts, or a relay: backbone.ts), watches each for silence (transports/liveness.ts),
// and hands
// traffic to the router (router.ts) and the backbone. It never holds a cluster or topic key: it reads
// frame headers and forwards the very bytes it received. relay-server/ wraps it with a WebSocket
// listener, a CLI and logs; tests and simulations run it over in-memory links.

import { toHex } from "../util/bytes.ts";
import { every, systemClock } from "../util/clock.ts";
import type { Clock } from "../util/clock.ts";
import { generateIdentity, peerIdOf } from "../crypto/keys.ts";
import { portableCrypto } from "../crypto/nacl.ts";
import type { CryptoBackend, SigningKeyPair } from "../crypto/nacl.ts";
import { FRAME_HEADROOM, FrameType, RELAY_ID_BYTES, encodeFrame } from "../wire/frames.ts";
import type { Frame, RelayHelloFrame } from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import type { Link } from "../transports/link.ts";
import { Liveness } from "../transports/liveness.ts";
import type { LivenessSettings } from "../transports/liveness.ts";
import { Admission } from "./admission.ts";
import { Backbone } from "./backbone.ts";
import { Inspections, snapshotOf, statsOf } from "./snapshot.ts";
import type { RelaySnapshot } from "./snapshot.ts";
import type { RelayStatsReport } from "../wire/relay-report.ts";
import { PeerProtocol } from "./peer-protocol.ts";
import { RecentCuts } from "./recent-cuts.ts";
import type { PeerSession } from "./peer-session.ts";
import type { RelayLink } from "./relay-link.ts";
import { relaySettings } from "./relay-options.ts";
import type { RelayLog, RelayOptions, RelaySettings } from "./relay-options.ts";
import { Router } from "./router.ts";
import { RelayStats } from "./relay-stats.ts";
import { FlowControl } from "./flow-control.ts";
import { showsLife } from "./hop.ts";
import type { Hop } from "./hop.ts";
import { networkKeys } from "../transports/secure-link.ts";
import type { NetworkKeys } from "../transports/secure-link.ts";

export { RELAY_DEFAULTS } from "./relay-options.ts";
export type { RelayLog, RelayOptions } from "./relay-options.ts";
export type { RelaySnapshot } from "./snapshot.ts";

/** Relay links carry everyone's traffic: their queues may hold this many times a peer link's. */
const RELAY_QUEUE_FACTOR = 4;
/** Peers are told about at most this many other relays to fail over to. */
const FAILOVER_RELAYS = 8;
/** How often expired requests and parked work are swept. */
const SWEEP_MS = 1000;
/** Watchdogs are looked at this many times per shortest heartbeat, and at least this often. */
const LOOKS_PER_HEARTBEAT = 10;
const MAX_LIVENESS_TICK_MS = 100;
/** A stall of the relay's own process this long is worth a log line (shorter ones are routine). */
const STALL_LOG_MS = 1000;

export class Relay {
  readonly relayId: Uint8Array;
  readonly relayHex: string;
  readonly address: string;
  readonly maxMessage: number;
  readonly maxFrame: number;
  readonly backbone: Backbone;
  /** Traffic counters, for metrics and the report's `stats`. */
  readonly stats: RelayStats;
  /** Which links are paused because they feed a full queue (flow-control.ts). */
  readonly flow: FlowControl;
  private readonly identity: SigningKeyPair;
  private readonly crypto: CryptoBackend;
  private readonly clock: Clock;
  private readonly options: RelaySettings;
  private readonly networkKeys: NetworkKeys | null;
  private readonly log: RelayLog;
  private readonly sessions = new Set<PeerSession>();
  private readonly byPeer = new Map<string, PeerSession>();
  /** Accepted links that turned out to be relays. */
  private readonly relayLinks = new Map<PeerSession, RelayLink>();
  private readonly router: Router;
  private readonly admission: Admission;
  private readonly inspections: Inspections;
  private readonly peerProtocol: PeerProtocol;
  /** Watchdogs of every link, peers' and relays'. */
  readonly liveness: Liveness;
  private readonly peerLiveness: LivenessSettings;
  private readonly relayLiveness: LivenessSettings;
  private readonly cuts = new RecentCuts();
  private readonly stopSweep: () => void;
  private announcedRelays = "";
  private closed = false;
  private draining = false;

  constructor(options: RelayOptions = {}) {
    this.crypto = options.crypto ?? portableCrypto;
    this.identity = options.identity ?? generateIdentity(this.crypto.signing);
    this.relayId = peerIdOf(this.identity.publicKey);
    this.relayHex = toHex(this.relayId);
    this.address = options.address ?? `relay:${this.relayHex.slice(0, 12)}`;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => {});
    this.options = relaySettings(options);
    this.networkKeys = options.networkKey ? networkKeys(options.networkKey, this.crypto.secretbox) : null;
    this.maxMessage = this.options.maxMessage;
    this.maxFrame = this.maxMessage + FRAME_HEADROOM;
    const random = options.random ?? Math.random;
    this.stats = new RelayStats(this.clock.now());
    const { heartbeatMs, relayHeartbeatMs, missedHeartbeats } = this.options;
    this.peerLiveness = { pingAfterMs: heartbeatMs, deadAfterMs: heartbeatMs * missedHeartbeats };
    this.relayLiveness = { pingAfterMs: relayHeartbeatMs, deadAfterMs: relayHeartbeatMs * missedHeartbeats };
    this.liveness = new Liveness(this.clock, {
      tickMs: Math.min(MAX_LIVENESS_TICK_MS, Math.min(heartbeatMs, relayHeartbeatMs) / LOOKS_PER_HEARTBEAT),
      random,
      onStall: (ms) => {
        if (ms >= STALL_LOG_MS) this.log("relay-stalled", { ms: Math.round(ms) });
      },
    });
    this.flow = new FlowControl(
      {
        highWater: this.options.queueHighWater,
        lowWater: this.options.queueHighWater / 2,
        stallTimeoutMs: this.options.stallTimeoutMs,
      },
      this.clock,
      (hop, stuckMs) => this.stuck(hop, stuckMs),
    );
    this.router = new Router(
      {
        clock: this.clock,
        random,
        nextHop: (key) => this.backbone.nextHop(key),
        peer: (hex) => this.byPeer.get(hex),
        log: this.log,
        stats: this.stats,
      },
      { startupGraceMs: this.options.startupGraceMs },
    );
    this.backbone = new Backbone(
      {
        relayId: this.relayId,
        identity: this.identity,
        signing: this.crypto.signing,
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
        liveness: this.liveness,
        linkLiveness: this.relayLiveness,
        networkKeys: this.networkKeys,
        log: this.log,
        stats: this.stats,
        flow: this.flow,
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
    this.admission = new Admission({
      relayId: this.relayId,
      clock: this.clock,
      settings: this.options,
      networkKeys: this.networkKeys,
      log: this.log,
      stats: this.stats,
      flow: this.flow,
      isClosed: () => this.closed,
      isDraining: () => this.draining,
      sessionOpened: (session) => this.sessions.add(session),
      sessionFrame: (session, bytes) => {
        const relayLink = this.relayLinks.get(session);
        if (relayLink) return this.backbone.onFrame(relayLink, bytes);
        this.peerProtocol.onFrame(session, bytes);
        // If it fed a hop whose queue is full, read nothing more from this peer until that drains.
        this.flow.afterFrame(session);
      },
      sessionDrained: (session) => {
        const relayLink = this.relayLinks.get(session);
        if (relayLink) this.backbone.onDrain(relayLink);
        else this.flow.drained(session);
      },
      sessionClosed: (session, code, reason) => {
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
    this.inspections = new Inspections({
      relayId: this.relayId,
      nextHop: (key) => this.backbone.nextHop(key),
      snapshot: () => this.snapshot(),
    });
    this.peerProtocol = new PeerProtocol({
      relayId: this.relayId,
      clock: this.clock,
      settings: this.options,
      maxMessage: this.maxMessage,
      maxFrame: this.maxFrame,
      router: this.router,
      inspections: this.inspections,
      signing: this.crypto.signing,
      stats: this.stats,
      log: this.log,
      isDraining: () => this.draining,
      isRelayLink: (session) => this.relayLinks.has(session),
      adoptRelay: (session, frame) => this.adoptRelay(session, frame),
      peerReady: (session) => this.peerReady(session),
      watch: (session) => this.watch(session),
      takeCut: (peerHex) => this.cuts.take(peerHex, this.clock.now()),
    });
    this.stopSweep = every(this.clock, SWEEP_MS, () => this.router.sweep(this.clock.now()));
    this.backbone.start();
  }

  /**
   * Takes a new link (from a peer, or from a relay that dialed us) and starts its handshake. `address`
   * names where it comes from (an IP address) for the per-address limits; links without one are not
   * counted (in-memory links in tests, say).
   */
  accept(link: Link, address?: string): void {
    this.admission.accept(link, address);
  }

  /** A connection from `address` was just accepted: whether to drop it before anything else (see Admission). */
  refusesConnection(address: string): boolean {
    return this.closed || this.admission.refuses(address);
  }

  /** Routes a probe to the relay closest to `target` and reports the hops it took. */
  probe(target: Uint8Array): Promise<{ hops: number; responder: string }> {
    return this.backbone.probe(target);
  }

  snapshot(): RelaySnapshot {
    return snapshotOf({
      relayHex: this.relayHex,
      address: this.address,
      draining: this.draining,
      backbone: this.backbone,
      router: this.router,
      peers: this.byPeer.values(),
      stats: this.stats,
      flow: this.flow,
      now: this.clock.now(),
    });
  }

  /** The report's `stats` alone: cheap enough for every metrics scrape. */
  statsReport(): RelayStatsReport {
    return statsOf({
      backbone: this.backbone,
      router: this.router,
      peers: this.byPeer.values(),
      stats: this.stats,
      flow: this.flow,
      now: this.clock.now(),
    });
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
    // Peers move to the first relay their list names: each is given the list turned by one more, so
    // they spread over the neighbours instead of all landing on one.
    let turn = 0;
    for (const session of this.byPeer.values()) {
      const relays = this.relaysFrame(rotated(alternatives, turn++));
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
    this.stopSweep();
    this.liveness.stop();
    this.flow.stop();
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
        return this.inspections.routeInspect(frame, bytes);
      case FrameType.InspectReply:
        return this.inspections.routeInspectReply(frame, bytes);
    }
  }

  /** A relay that proved its identity said RelayHello: from now on its link belongs to the backbone. */
  private adoptRelay(session: PeerSession, frame: RelayHelloFrame): void {
    // The backbone watches it from now on, as a relay link.
    session.watchdog?.stop();
    session.watchdog = null;
    const relayLink = this.backbone.adopt(session.link, session.peerId!, frame);
    if (relayLink) this.relayLinks.set(session, relayLink);
    else this.sessions.delete(session);
  }

  private peerReady(session: PeerSession): void {
    const previous = this.byPeer.get(session.peerHex);
    // The same identity proved itself again: its old link is stale (the peer reconnected before we
    // noticed the old one die).
    if (previous) {
      // The peer is back already: there is nobody to tell why the old link went.
      previous.onReset = null;
      previous.close(CloseCode.Replaced, "replaced by a newer connection of the same peer");
    }
    this.byPeer.set(session.peerHex, session);
    session.onReset = (code, reason) => this.cuts.record(session.peerHex, code, reason, this.clock.now());
    const relays = this.relaysFrame(this.backbone.neighborAddresses());
    if (relays) session.send(relays);
    this.log("peer-joined", { peer: session.peerHex, agent: session.agent, remote: session.link.remote });
  }

  private onClosed(session: PeerSession, code: number, reason: string): void {
    session.state = "closed";
    session.watchdog?.stop();
    this.sessions.delete(session);
    this.flow.forget(session);
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
    const relays = addresses
      .slice(0, FAILOVER_RELAYS)
      .map((address) => ({ id: new Uint8Array(RELAY_ID_BYTES), address, age: 0 }));
    return encodeFrame({ type: FrameType.Relays, relays });
  }

  /** A hop over the high-water mark made no progress for stallTimeoutMs: it holds everyone up; cut it. */
  private stuck(hop: Hop, stuckMs: number): void {
    const reason = `slow consumer: no progress for ${stuckMs} ms with ${hop.link.bufferedAmount} bytes queued`;
    this.log("slow-consumer", { peer: hop.label, queued: hop.link.bufferedAmount, stuckMs });
    if (hop.kind === "peer") {
      this.stats.slowConsumerDisconnects++;
      (hop as PeerSession).close(CloseCode.SlowConsumer, reason);
    } else {
      const link = hop as RelayLink;
      link.close(CloseCode.SlowConsumer, reason);
      this.backbone.onClose(link);
    }
  }

  /** Watches a link that said hello: a peer's on the peer scale, a relay's (until it is adopted) on its own. */
  private watch(session: PeerSession): void {
    session.watchdog = this.liveness.watch(session.agent === "relay" ? this.relayLiveness : this.peerLiveness, {
      ping: () => session.send(encodeFrame({ type: FrameType.Ping, stamp: this.clock.now() })),
      dead: (silent) => session.close(CloseCode.HeartbeatTimeout, `no frame for ${Math.round(silent)} ms`),
      showsLife: () => showsLife(session),
    });
  }
}

/** `list` turned left by `by` places: its element `by % length` first. */
function rotated<T>(list: readonly T[], by: number): T[] {
  if (list.length === 0) return [];
  const at = by % list.length;
  return [...list.slice(at), ...list.slice(0, at)];
}
