// The backbone: this relay's links to other relays. It dials seeds and the relays the routing table
// wants (relay-dialer.ts), proves identities both ways on the same handshake peers use, gossips the
// directory of known relays (gossip.ts), drops links the table no longer needs, and answers the routing
// question every relay-level decision asks: which linked relay is closest to a key (none, when this
// relay is).

import { toHex } from "../util/bytes.ts";
import { every } from "../util/clock.ts";
import { signRelayWelcome } from "../crypto/keys.ts";
import { WireError } from "../wire/codec.ts";
import { FrameType, RELAY_HELLO_NEEDED, decodeFrame, encodeFrame } from "../wire/frames.ts";
import type { Frame, RelayEntry, RelayHelloFrame } from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import type { Link } from "../transports/link.ts";
import type { Liveness, LivenessSettings } from "../transports/liveness.ts";
import { Gossip } from "./gossip.ts";
import { showsLife } from "./hop.ts";
import { Probes } from "./probes.ts";
import { RelayDialer } from "./relay-dialer.ts";
import type { RelayDialerOptions } from "./relay-dialer.ts";
import type { RelayStats } from "./relay-stats.ts";
import type { FlowControl } from "./flow-control.ts";
import { RelayLink } from "./relay-link.ts";
import { RoutingTable, compareDistance } from "./routing-table.ts";
import type { KnownRelay } from "./routing-table.ts";

export interface BackboneOptions extends RelayDialerOptions {
  stats: RelayStats;
  flow: FlowControl;
  seeds: string[];
  maxLinks: number;
  outboundLimit: number;
  /** How often the relay reconsiders its links and gossips its directory. */
  maintenanceMs: number;
  /** The relay's watchdogs, and when a relay link counts as silent and as dead. */
  liveness: Liveness;
  linkLiveness: LivenessSettings;
}

export interface BackboneHost {
  linkUp(link: RelayLink): void;
  linkDown(link: RelayLink): void;
  /** The other relay is leaving: route around it, but keep what is in flight through it. */
  linkDraining(link: RelayLink): void;
  /** A routed or tree frame from another relay, for the router. */
  relayFrame(link: RelayLink, frame: Frame, bytes: Uint8Array): void;
}

/** Comparing distances to zero compares ids as numbers. */
const ZERO_KEY = new Uint8Array(16);

export class Backbone {
  readonly table: RoutingTable;
  private readonly links = new Map<string, RelayLink>();
  private readonly gossip: Gossip;
  private readonly probes: Probes;
  private readonly relayDialer: RelayDialer;
  private stopMaintenance: () => void = () => {};
  private stopped = false;
  private draining = false;

  constructor(
    private readonly options: BackboneOptions,
    private readonly host: BackboneHost,
  ) {
    this.table = new RoutingTable(options.relayId, { maxLinks: options.maxLinks });
    this.gossip = new Gossip(options, this.table);
    this.probes = new Probes({ relayId: options.relayId, clock: options.clock, nextHop: (key) => this.nextHop(key) });
    this.relayDialer = new RelayDialer(options, {
      needs: (relayId) => this.needs(relayId),
      learn: (entries) => this.learn(entries),
      linked: (link, known) => {
        this.table.learn(known);
        return this.established(link, known, true);
      },
      onFrame: (link, bytes) => this.onFrame(link, bytes),
      onDrain: (link) => this.onDrain(link),
      onClose: (link) => this.onClose(link),
    });
  }

  start(): void {
    for (const seed of this.options.seeds) if (seed !== this.options.address) this.dial(seed);
    this.stopMaintenance = every(this.options.clock, this.options.maintenanceMs, () => this.maintain());
  }

  stop(): void {
    this.stopped = true;
    this.relayDialer.stop();
    this.stopMaintenance();
    for (const link of [...this.links.values()]) link.close(CloseCode.GoingAway, "relay shutting down");
  }

  get linkCount(): number {
    return this.links.size;
  }

  allLinks(): RelayLink[] {
    return [...this.links.values()];
  }

  /**
   * The linked relay closest to `key`, or null when no linked relay is closer than this one. A
   * draining relay no longer counts itself: everything it routes goes to the closest other relay.
   */
  nextHop(key: Uint8Array): RelayLink | null {
    let best: RelayLink | null = null;
    let bestId: Uint8Array | null = this.draining ? null : this.options.relayId;
    for (const link of this.links.values()) {
      if (link.draining || link.gone) continue;
      if (bestId === null || compareDistance(key, link.relayId, bestId) < 0) {
        best = link;
        bestId = link.relayId;
      }
    }
    return best;
  }

  /** Relay addresses worth handing to peers for failover: this one's neighbors. */
  neighborAddresses(): string[] {
    return this.allLinks()
      .filter((link) => !link.draining)
      .map((link) => link.address);
  }

  /** Every relay in the directory, for introspection. */
  directory(): KnownRelay[] {
    return this.table.knownRelays();
  }

  /** Tells linked relays this one is leaving: they route nothing new through it, and nor does it. */
  announceDraining(): void {
    this.draining = true;
    const frame = encodeFrame({ type: FrameType.Draining });
    for (const link of this.links.values()) link.send(frame);
  }

  // Incoming links: a relay dialed us, passed the peer handshake, and then said RelayHello.

  /** Adopts an accepted link whose peer proved relay identity `relayId`; null when refused. */
  adopt(link: Link, relayId: Uint8Array, hello: RelayHelloFrame): RelayLink | null {
    const hex = toHex(relayId);
    if (hex === toHex(this.options.relayId)) {
      link.close(CloseCode.Protocol, "a relay cannot link to itself");
      return null;
    }
    const known: KnownRelay = { id: relayId.slice(), hex, address: hello.address };
    this.table.learn(known);
    const needed = (hello.flags & RELAY_HELLO_NEEDED) !== 0;
    const admission = this.links.has(hex)
      ? { accept: true, drop: null }
      : this.table.admit(relayId, needed, this.protectedLinks());
    if (!admission.accept) {
      // Full: hand over relays to try instead, then refuse.
      link.send(encodeFrame({ type: FrameType.Relays, relays: this.gossip.entriesFor(relayId) }));
      this.options.stats.refuse("relay-full");
      link.close(CloseCode.Full, "relay has all the relay links it may keep");
      return null;
    }
    if (admission.drop) this.dropLink(admission.drop, "making room for a relay that needs this link");
    const signature = signRelayWelcome(this.options.signing, this.options.identity, hello.nonce, relayId);
    link.send(
      encodeFrame({
        type: FrameType.RelayWelcome,
        address: this.options.address,
        identityKey: this.options.identity.publicKey,
        signature,
      }),
    );
    const established = this.established(link, known, false);
    if (established) established.neededByRemote = needed;
    return established;
  }

  /** Links the relay at the other end said it needs: never dropped to make room. */
  private protectedLinks(): Set<string> {
    const out = new Set<string>();
    for (const link of this.links.values()) if (link.neededByRemote) out.add(link.hex);
    return out;
  }

  private dropLink(hex: string, reason: string): void {
    const link = this.links.get(hex);
    if (!link) return;
    link.close(CloseCode.Redundant, reason);
    this.onClose(link);
  }

  // Outgoing links (relay-dialer.ts).

  /** Dials a relay (a seed, or one the routing table wants). */
  dial(address: string, expected?: KnownRelay): void {
    this.relayDialer.dial(address, expected);
  }

  /** A link to `relayId` would be our only one into its bucket: the other relay must not drop it. */
  private needs(relayId: Uint8Array): boolean {
    return !this.allLinks().some((other) => this.table.bucketOf(other.relayId) === this.table.bucketOf(relayId));
  }

  private established(link: Link, known: KnownRelay, outgoing: boolean): RelayLink | null {
    const existing = this.links.get(known.hex);
    if (existing) {
      // Both relays dialed each other at once. Both must keep the same link: the one the relay with the
      // lower id dialed.
      const preferOutgoing = compareDistance(ZERO_KEY, this.options.relayId, known.id) < 0;
      const keepExisting = existing.outgoing === preferOutgoing || outgoing !== preferOutgoing;
      if (keepExisting) {
        link.close(CloseCode.Redundant, "duplicate relay link");
        return null;
      }
      existing.close(CloseCode.Redundant, "duplicate relay link");
      this.onClose(existing);
    }
    let lastReport = -Infinity;
    const relayLink = new RelayLink(
      link,
      known.id,
      known.address,
      outgoing,
      this.options.outboundLimit,
      (full) => {
        // Once a second at most: a flooded link would otherwise flood the log too.
        const now = this.options.clock.now();
        if (now - lastReport < 1000) return;
        lastReport = now;
        this.options.log("relay-link-overflow", {
          relay: full.hex,
          dropped: full.dropped,
          queued: full.link.bufferedAmount,
        });
      },
      this.options.stats,
      this.options.flow,
    );
    relayLink.watchdog = this.options.liveness.watch(this.options.linkLiveness, {
      ping: () => relayLink.send(encodeFrame({ type: FrameType.Ping, stamp: this.options.clock.now() })),
      dead: (silent) => {
        relayLink.close(CloseCode.HeartbeatTimeout, `relay silent for ${Math.round(silent)} ms`);
        this.onClose(relayLink);
      },
      showsLife: () => showsLife(relayLink),
    });
    this.links.set(known.hex, relayLink);
    this.table.setLinked(known.hex, true);
    this.relayDialer.succeeded(known);
    this.gossip.confirm(known.hex, this.options.clock.now());
    this.options.log("relay-linked", { relay: known.hex, address: known.address, direction: outgoing ? "out" : "in" });
    relayLink.send(encodeFrame({ type: FrameType.Relays, relays: this.gossip.entriesFor(known.id) }));
    this.host.linkUp(relayLink);
    return relayLink;
  }

  // Frames over relay links.

  onFrame(link: RelayLink, bytes: Uint8Array): void {
    this.handleFrame(link, bytes);
    // If it fed a hop whose queue is full, read nothing more from this link until that drains.
    this.options.flow.afterFrame(link);
  }

  private handleFrame(link: RelayLink, bytes: Uint8Array): void {
    if (link.gone) return;
    this.options.stats.countIn(bytes);
    link.watchdog?.heard();
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      if (error instanceof WireError) return this.violation(link, error.message);
      throw error;
    }
    switch (frame.type) {
      case FrameType.Ping:
        link.send(encodeFrame({ type: FrameType.Pong, stamp: frame.stamp }));
        return;
      case FrameType.Pong:
        return;
      case FrameType.Relays:
        return this.learn(frame.relays);
      case FrameType.Draining:
        // Still linked, and still carrying replies for what it was given; only new work avoids it.
        link.draining = true;
        this.options.log("relay-draining", { relay: link.hex });
        this.host.linkDraining(link);
        return;
      case FrameType.Probe:
        return this.probes.onProbe(frame, bytes);
      case FrameType.ProbeReply:
        return this.probes.onProbeReply(frame, bytes);
      case FrameType.TreeUpdate:
      case FrameType.Request:
      case FrameType.Reply:
      case FrameType.Broadcast:
      case FrameType.Publish:
      case FrameType.TunnelOpen:
      case FrameType.TunnelAccept:
      case FrameType.TunnelData:
      case FrameType.TunnelCredit:
      case FrameType.TunnelClose:
      case FrameType.Inspect:
      case FrameType.InspectReply:
        return this.host.relayFrame(link, frame, bytes);
      default:
        return this.violation(link, `frame type ${frame.type} has no place on a relay link`);
    }
  }

  /** The link's outbound buffer emptied: senders paused for its sake may go on. */
  onDrain(link: RelayLink): void {
    this.options.flow.drained(link);
  }

  onClose(link: RelayLink): void {
    link.markGone();
    this.options.flow.forget(link);
    if (this.links.get(link.hex) !== link) return;
    this.links.delete(link.hex);
    this.table.setLinked(link.hex, false);
    this.options.log("relay-unlinked", { relay: link.hex });
    this.host.linkDown(link);
    if (!this.stopped) this.options.clock.setTimeout(() => this.maintain(), 0);
  }

  private violation(link: RelayLink, message: string): void {
    this.options.log("relay-error", { relay: link.hex, reason: message });
    link.close(CloseCode.Protocol, message);
    this.onClose(link);
  }

  // The directory.

  private learn(entries: RelayEntry[]): void {
    if (this.gossip.learn(entries)) this.options.clock.setTimeout(() => this.maintain(), 0);
  }

  private maintain(): void {
    if (this.stopped) return;
    const now = this.options.clock.now();
    this.gossip.expire(now);
    const unavailable = this.relayDialer.unavailable(now, this.table.knownRelays());
    const plan = this.table.plan(unavailable, this.protectedLinks());
    for (const hex of plan.drop) this.dropLink(hex, "link no longer needed by the routing table");
    for (const relay of plan.dial.slice(0, this.relayDialer.room)) this.dial(relay.address, relay);
    // Gossip to one random neighbor per round keeps directories converging without flooding.
    const links = this.allLinks();
    if (links.length > 0) {
      const link = links[Math.floor(this.options.random() * links.length)]!;
      link.send(encodeFrame({ type: FrameType.Relays, relays: this.gossip.entriesFor(link.relayId) }));
    }
  }

  /** Routes a probe to the relay closest to `target` and reports the hops it took (see probes.ts). */
  probe(target: Uint8Array, timeoutMs = 10_000): Promise<{ hops: number; responder: string }> {
    return this.probes.probe(target, timeoutMs);
  }
}
