// The backbone: this relay's links to other relays. It dials seeds and the relays the routing table
// wants, proves identities both ways on the same handshake peers use, gossips the directory of known
// relays, drops links the table no longer needs, and answers the routing question every relay-level
// decision asks: which linked relay is closest to a key (none, when this relay is).

import { equalBytes, randomBytes, toHex } from "../bytes.ts";
import { every } from "../clock.ts";
import type { Clock } from "../clock.ts";
import { peerIdOf, signHello, signRelayWelcome, verifyRelayWelcome } from "../crypto/keys.ts";
import type { SigningKeyPair } from "../crypto/nacl.ts";
import { WireError } from "../wire/codec.ts";
import { FrameType, HOPS_OFFSET, MAX_HOPS, NONCE_BYTES, RELAY_HELLO_NEEDED, decodeFrame, encodeFrame } from "../wire/frames.ts";
import type { Frame, ProbeFrame, ProbeReplyFrame, RelayEntry, RelayHelloFrame } from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import type { Dialer, Link } from "../transports/link.ts";
import { RelayLink } from "./relay-link.ts";
import { secureLink } from "../transports/secure-link.ts";
import type { NetworkKeys } from "../transports/secure-link.ts";
import { RoutingTable, commonPrefixBits, compareDistance } from "./routing-table.ts";
import type { KnownRelay } from "./routing-table.ts";

export interface BackboneOptions {
  relayId: Uint8Array;
  identity: SigningKeyPair;
  /** Where other relays and peers reach this relay. */
  address: string;
  seeds: string[];
  dialer: Dialer | null;
  clock: Clock;
  random: () => number;
  maxLinks: number;
  maxFrame: number;
  outboundLimit: number;
  handshakeTimeoutMs: number;
  /** How often the relay reconsiders its links and gossips its directory. */
  maintenanceMs: number;
  /** A closed backbone: links prove the network key and are sealed (see transports/secure-link.ts). */
  networkKeys: NetworkKeys | null;
  log(event: string, fields: Record<string, string | number | boolean>): void;
}

export interface BackboneHost {
  linkUp(link: RelayLink): void;
  linkDown(link: RelayLink): void;
  /** The other relay is leaving: route around it, but keep what is in flight through it. */
  linkDraining(link: RelayLink): void;
  /** A routed or tree frame from another relay, for the router. */
  relayFrame(link: RelayLink, frame: Frame, bytes: Uint8Array): void;
}

/** Directory entries nobody has confirmed for this long are forgotten. */
const DIRECTORY_TTL_MS = 60_000;
/** Most entries one gossip frame carries, and how many of them per bucket of the receiver. */
const GOSSIP_ENTRIES = 64;
const GOSSIP_PER_BUCKET = 3;
/** A relay that failed a dial is left alone this long, doubling per failure. */
const DIAL_BACKOFF_MS = 2000;
const DIAL_BACKOFF_MAX_MS = 60_000;
/** Dials in flight at once. */
const DIAL_CONCURRENCY = 4;
/** Comparing distances to zero compares ids as numbers. */
const ZERO_KEY = new Uint8Array(16);

export class Backbone {
  readonly table: RoutingTable;
  private readonly links = new Map<string, RelayLink>();
  private readonly confirmed = new Map<string, number>();
  private readonly failures = new Map<string, { until: number; backoff: number }>();
  private readonly dialing = new Set<string>();
  private readonly probes = new Map<number, (reply: ProbeReplyFrame) => void>();
  private nextProbeId = 1;
  private stopMaintenance: () => void = () => {};
  private stopped = false;
  private draining = false;

  constructor(
    private readonly options: BackboneOptions,
    private readonly host: BackboneHost,
  ) {
    this.table = new RoutingTable(options.relayId, { maxLinks: options.maxLinks });
  }

  start(): void {
    for (const seed of this.options.seeds) if (seed !== this.options.address) this.dial(seed);
    this.stopMaintenance = every(this.options.clock, this.options.maintenanceMs, () => this.maintain());
  }

  stop(): void {
    this.stopped = true;
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
    const admission = this.links.has(hex) ? { accept: true, drop: null } : this.table.admit(relayId, needed, this.protectedLinks());
    if (!admission.accept) {
      // Full: hand over relays to try instead, then refuse.
      link.send(encodeFrame({ type: FrameType.Relays, relays: this.gossip(relayId) }));
      link.close(CloseCode.Full, "relay has all the relay links it may keep");
      return null;
    }
    if (admission.drop) this.dropLink(admission.drop, "making room for a relay that needs this link");
    const signature = signRelayWelcome(this.options.identity, hello.nonce, relayId);
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

  // Outgoing links.

  /** Dials a relay (a seed, or one the routing table wants). */
  dial(address: string, expected?: KnownRelay): void {
    const dialer = this.options.dialer;
    if (!dialer || this.stopped || this.dialing.has(address)) return;
    this.dialing.add(address);
    const { networkKeys: keys, clock, handshakeTimeoutMs } = this.options;
    dialer(address, { maxFrame: this.options.maxFrame })
      .then((link) => (keys ? secureLink(link, { role: "initiator", keys, clock, timeoutMs: handshakeTimeoutMs }) : link))
      .then(
        (link) => this.handshake(address, link, expected),
        (error: Error) => this.dialFailed(address, expected, error.message),
      );
  }

  private handshake(address: string, link: Link, expected: KnownRelay | undefined): void {
    const { clock } = this.options;
    const nonce = randomBytes(NONCE_BYTES);
    let step: "challenge" | "welcome" | "relay-welcome" | "done" = "challenge";
    let relayId: Uint8Array | null = null;
    let established: RelayLink | null = null;
    const timer = clock.setTimeout(
      () => link.close(CloseCode.HandshakeTimeout, "relay handshake timed out"),
      this.options.handshakeTimeoutMs,
    );
    link.listen({
      frame: (bytes) => {
        if (established) return this.onFrame(established, bytes);
        let frame: Frame;
        try {
          frame = decodeFrame(bytes);
        } catch (error) {
          return link.close(CloseCode.Protocol, (error as Error).message);
        }
        if (step === "challenge" && frame.type === FrameType.Challenge) {
          relayId = frame.relayId.slice();
          const signature = signHello(this.options.identity, frame.relayId, frame.nonce);
          link.send(encodeFrame({ type: FrameType.Hello, identityKey: this.options.identity.publicKey, signature, agent: "relay" }));
          step = "welcome";
        } else if (step === "welcome" && frame.type === FrameType.Welcome) {
          // We need this link when it would be our only one into the other relay's bucket.
          const needed = !this.allLinks().some((other) => this.table.bucketOf(other.relayId) === this.table.bucketOf(relayId!));
          link.send(
            encodeFrame({
              type: FrameType.RelayHello,
              flags: needed ? RELAY_HELLO_NEEDED : 0,
              address: this.options.address,
              nonce,
            }),
          );
          step = "relay-welcome";
        } else if (step === "relay-welcome" && frame.type === FrameType.RelayWelcome) {
          const proven =
            relayId !== null &&
            equalBytes(peerIdOf(frame.identityKey), relayId) &&
            verifyRelayWelcome(frame.identityKey, frame.signature, nonce, this.options.relayId);
          if (!proven) return link.close(CloseCode.AuthFailed, "relay did not prove its identity");
          clock.clearTimeout(timer);
          step = "done";
          this.dialing.delete(address);
          const known: KnownRelay = { id: relayId!, hex: toHex(relayId!), address: frame.address || address };
          if (known.hex === toHex(this.options.relayId)) return link.close(CloseCode.Normal, "dialed ourselves");
          this.table.learn(known);
          established = this.established(link, known, true);
        } else if (frame.type === FrameType.Relays) {
          // A full relay tells us whom to try instead before it closes.
          this.learn(frame.relays);
        } else if (step !== "challenge" && (frame.type === FrameType.Ping || frame.type === FrameType.Pong)) {
          // The other relay pings every link that has said hello, as this one did a round trip before
          // its RelayHello: a heartbeat may arrive mid-handshake, and is no reason to give up.
        } else {
          link.close(CloseCode.Protocol, `unexpected frame ${frame.type} in the relay handshake`);
        }
      },
      close: (code, reason) => {
        clock.clearTimeout(timer);
        if (established) return this.onClose(established);
        this.dialFailed(address, expected, `${code} ${reason}`);
      },
    });
  }

  private dialFailed(address: string, expected: KnownRelay | undefined, reason: string): void {
    this.dialing.delete(address);
    if (this.stopped) return;
    const key = expected?.hex ?? address;
    const previous = this.failures.get(key);
    const backoff = Math.min(DIAL_BACKOFF_MAX_MS, previous ? previous.backoff * 2 : DIAL_BACKOFF_MS);
    this.failures.set(key, { until: this.options.clock.now() + backoff * (0.5 + this.options.random()), backoff });
    this.options.log("relay-dial-failed", { address, reason });
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
    const relayLink = new RelayLink(link, known.id, known.address, outgoing, this.options.clock.now(), this.options.outboundLimit, (full) => {
      // Once a second at most: a flooded link would otherwise flood the log too.
      const now = this.options.clock.now();
      if (now - lastReport < 1000) return;
      lastReport = now;
      this.options.log("relay-link-overflow", { relay: full.hex, dropped: full.dropped, queued: full.link.bufferedAmount });
    });
    this.links.set(known.hex, relayLink);
    this.table.setLinked(known.hex, true);
    this.failures.delete(known.hex);
    this.failures.delete(known.address);
    this.confirmed.set(known.hex, this.options.clock.now());
    this.options.log("relay-linked", { relay: known.hex, address: known.address, direction: outgoing ? "out" : "in" });
    relayLink.send(encodeFrame({ type: FrameType.Relays, relays: this.gossip(known.id) }));
    this.host.linkUp(relayLink);
    return relayLink;
  }

  // Frames over relay links.

  onFrame(link: RelayLink, bytes: Uint8Array): void {
    if (link.gone) return;
    link.lastHeard = this.options.clock.now();
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
        return this.onProbe(frame, bytes);
      case FrameType.ProbeReply:
        return this.onProbeReply(frame, bytes);
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

  onClose(link: RelayLink): void {
    link.markGone();
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
    const now = this.options.clock.now();
    let learned = false;
    for (const entry of entries) {
      if (entry.age > DIRECTORY_TTL_MS) continue;
      const hex = toHex(entry.id);
      const seen = now - entry.age;
      if ((this.confirmed.get(hex) ?? -Infinity) < seen) this.confirmed.set(hex, seen);
      learned = this.table.learn({ id: entry.id.slice(), hex, address: entry.address }) || learned;
    }
    if (learned) this.options.clock.setTimeout(() => this.maintain(), 0);
  }

  /**
   * What to tell relay `to` about, so it can fill its routing table: ourselves, then for each of its
   * buckets the relays we know that are closest to it (what Kademlia's self-lookup would find), then
   * the freshest others. Only relays confirmed alive recently are passed on.
   */
  private gossip(to: Uint8Array): RelayEntry[] {
    const now = this.options.clock.now();
    const entries: RelayEntry[] = [{ id: this.options.relayId, address: this.options.address, age: 0 }];
    const toHexId = toHex(to);
    const candidates = this.table
      .knownRelays()
      .filter((relay) => relay.hex !== toHexId)
      .map((relay) => ({ relay, age: this.table.isLinked(relay.hex) ? 0 : now - (this.confirmed.get(relay.hex) ?? 0) }))
      .filter((entry) => entry.age <= DIRECTORY_TTL_MS);
    const byBucket = new Map<number, typeof candidates>();
    for (const candidate of candidates) {
      const bucket = commonPrefixBits(to, candidate.relay.id);
      const group = byBucket.get(bucket) ?? [];
      group.push(candidate);
      byBucket.set(bucket, group);
    }
    const chosen = new Set<string>();
    for (const group of byBucket.values()) {
      group.sort((a, b) => compareDistance(to, a.relay.id, b.relay.id));
      for (const { relay, age } of group.slice(0, GOSSIP_PER_BUCKET)) {
        entries.push({ id: relay.id, address: relay.address, age });
        chosen.add(relay.hex);
      }
    }
    const rest = candidates.filter((candidate) => !chosen.has(candidate.relay.hex)).sort((a, b) => a.age - b.age);
    for (const { relay, age } of rest) {
      if (entries.length >= GOSSIP_ENTRIES) break;
      entries.push({ id: relay.id, address: relay.address, age });
    }
    return entries.slice(0, GOSSIP_ENTRIES);
  }

  private maintain(): void {
    if (this.stopped) return;
    const now = this.options.clock.now();
    for (const relay of this.table.knownRelays()) {
      if (this.table.isLinked(relay.hex)) this.confirmed.set(relay.hex, now);
      else if (now - (this.confirmed.get(relay.hex) ?? 0) > DIRECTORY_TTL_MS) {
        this.table.forget(relay.hex);
        this.confirmed.delete(relay.hex);
      }
    }
    const unavailable = new Set<string>(this.dialing);
    for (const [key, failure] of this.failures) {
      if (failure.until > now) unavailable.add(key);
    }
    for (const relay of this.table.knownRelays()) if (this.dialing.has(relay.address)) unavailable.add(relay.hex);
    const plan = this.table.plan(unavailable, this.protectedLinks());
    for (const hex of plan.drop) this.dropLink(hex, "link no longer needed by the routing table");
    for (const relay of plan.dial.slice(0, Math.max(0, DIAL_CONCURRENCY - this.dialing.size))) this.dial(relay.address, relay);
    // Gossip to one random neighbor per round keeps directories converging without flooding.
    const links = this.allLinks();
    if (links.length > 0) {
      const link = links[Math.floor(this.options.random() * links.length)]!;
      link.send(encodeFrame({ type: FrameType.Relays, relays: this.gossip(link.relayId) }));
    }
  }

  // Probes: route a frame to the relay closest to a key and count the hops (a traceroute for the overlay).

  probe(target: Uint8Array, timeoutMs = 10_000): Promise<{ hops: number; responder: string }> {
    const probeId = this.nextProbeId++;
    return new Promise((resolve, reject) => {
      const timer = this.options.clock.setTimeout(() => {
        this.probes.delete(probeId);
        reject(new Error(`probe ${probeId} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.probes.set(probeId, (reply) => {
        this.options.clock.clearTimeout(timer);
        resolve({ hops: reply.probeHops, responder: toHex(reply.responder) });
      });
      const frame = encodeFrame({ type: FrameType.Probe, hops: MAX_HOPS, probeId, origin: this.options.relayId, target });
      this.onProbe(decodeFrame(frame) as ProbeFrame, frame, true);
    });
  }

  private onProbe(frame: ProbeFrame, bytes: Uint8Array, local = false): void {
    if (!local && !spendHop(bytes)) return;
    const next = this.nextHop(frame.target);
    if (next) {
      next.send(bytes);
      return;
    }
    const reply = encodeFrame({
      type: FrameType.ProbeReply,
      hops: MAX_HOPS,
      probeId: frame.probeId,
      origin: frame.origin,
      responder: this.options.relayId,
      probeHops: MAX_HOPS - (local ? MAX_HOPS : bytes[HOPS_OFFSET]!),
    });
    this.onProbeReply(decodeFrame(reply) as ProbeReplyFrame, reply, true);
  }

  private onProbeReply(frame: ProbeReplyFrame, bytes: Uint8Array, local = false): void {
    if (equalBytes(frame.origin, this.options.relayId)) {
      const resolve = this.probes.get(frame.probeId);
      this.probes.delete(frame.probeId);
      resolve?.(frame);
      return;
    }
    if (!local && !spendHop(bytes)) return;
    this.nextHop(frame.origin)?.send(bytes);
  }

  /** Links whose other end has been silent too long; the relay's heartbeat closes them. */
  silentLinks(now: number, deadAfter: number): RelayLink[] {
    return this.allLinks().filter((link) => now - link.lastHeard > deadAfter);
  }

}

/** Lowers a routed frame's hop budget in place; false when it had none left. */
export function spendHop(bytes: Uint8Array): boolean {
  const hops = bytes[HOPS_OFFSET]!;
  if (hops === 0) return false;
  bytes[HOPS_OFFSET] = hops - 1;
  return true;
}
