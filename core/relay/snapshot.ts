// Inspection: what a relay reports about itself (its snapshot), and how a peer asks for the report of
// this relay or of any other, routed by relay id across the backbone and back. Operators and the
// dashboard read relays through it; no routing decision depends on it.

import { equalBytes } from "../util/bytes.ts";
import { FrameType, MAX_HOPS, decodeFrame, encodeFrame } from "../wire/frames.ts";
import type { InspectFrame, InspectReplyFrame } from "../wire/frames.ts";
import type { Backbone } from "./backbone.ts";
import { spendHop } from "./hop-budget.ts";
import type { PeerSession } from "./peer-session.ts";
import type { RelayLink } from "./relay-link.ts";
import type { RelaySnapshot, RelayStatsReport } from "../wire/relay-report.ts";

export type { RelaySnapshot } from "../wire/relay-report.ts";
import type { Router } from "./router.ts";
import type { RelayStats } from "./relay-stats.ts";
import type { FlowControl } from "./flow-control.ts";

/** What a snapshot is taken of. */
export interface RelayState {
  relayHex: string;
  address: string;
  draining: boolean;
  backbone: Backbone;
  router: Router;
  peers: Iterable<PeerSession>;
  stats: RelayStats;
  flow: FlowControl;
  now: number;
}

/** The traffic counters and levels alone: what metrics read on every scrape, without the whole report. */
export function statsOf(
  state: Pick<RelayState, "backbone" | "router" | "peers" | "stats" | "flow" | "now">,
): RelayStatsReport {
  const { backbone, router, stats, flow, now } = state;
  const relayLinks = backbone.allLinks();
  let peers = 0;
  let queuedBytes = 0;
  for (const session of state.peers) {
    peers++;
    queuedBytes += session.link.bufferedAmount;
  }
  for (const link of relayLinks) queuedBytes += link.link.bufferedAmount;
  return stats.report(now, {
    peers,
    relayLinks: relayLinks.length,
    queuedBytes,
    tunnelsOpen: router.tunnels.size,
    pendingRequests: router.pending.size,
    pausedSenders: flow.pausedSenders,
    pauses: flow.pauses,
    pausedMs: flow.pausedMs(now),
  });
}

export function snapshotOf(state: RelayState): RelaySnapshot {
  const { relayHex, address, draining, backbone, router } = state;
  const peers = [...state.peers];
  const relayLinks = backbone.allLinks();
  const services = router.services;
  return {
    relayId: relayHex,
    address,
    draining,
    links: relayLinks.map((link) => ({
      relayId: link.hex,
      address: link.address,
      direction: link.outgoing ? "out" : "in",
      draining: link.draining,
      dropped: link.dropped,
    })),
    directory: backbone.directory().map((relay) => ({ relayId: relay.hex, address: relay.address })),
    peers: peers.map((s) => ({
      peerId: s.peerHex,
      agent: s.agent,
      remote: s.link.remote,
      clusters: [...s.clusters],
      topics: [...s.topics],
    })),
    trees: [...router.trees.all()].map((tree) => ({
      id: tree.id,
      root: tree.parent === null,
      parent: tree.parent?.hex ?? null,
      children: [...tree.children].map(([link, aggregate]) => ({ relayId: link.hex, count: aggregate.count })),
      local: services.memberCount(tree.id) + services.subscriberCount(tree.id),
    })),
    clusters: services.clusterIds().map((id) => ({ id, members: services.memberCount(id) })),
    topics: services.topicIds().map((id) => ({ id, subscribers: services.subscriberCount(id) })),
    pendingRequests: router.pending.size,
    parked: router.parking.size,
    tunnels: router.tunnels.size,
    stats: statsOf({ ...state, peers }),
  };
}

export interface InspectionHost {
  relayId: Uint8Array;
  /** The linked relay closest to a key, or null when this relay is the closest. */
  nextHop(key: Uint8Array): RelayLink | null;
  snapshot(): RelaySnapshot;
}

export class Inspections {
  /** Inspections this relay sent for its peers, by the corr it gave them, with the peer's own corr. */
  private readonly asked = new Map<number, { session: PeerSession; corr: number }>();
  private nextInspection = 1;

  constructor(private readonly host: InspectionHost) {}

  onPeerInspect(session: PeerSession, frame: InspectFrame): void {
    const corr = this.nextInspection++;
    this.asked.set(corr, { session, corr: frame.corr });
    const target = isZero(frame.target) ? this.host.relayId : frame.target;
    const bytes = encodeFrame({ type: FrameType.Inspect, hops: MAX_HOPS, corr, origin: this.host.relayId, target });
    this.routeInspect(decodeFrame(bytes) as InspectFrame, bytes, true);
  }

  routeInspect(frame: InspectFrame, bytes: Uint8Array, local = false): void {
    if (!local && !spendHop(bytes)) return;
    if (!equalBytes(frame.target, this.host.relayId)) {
      const next = this.host.nextHop(frame.target);
      if (next) return void next.send(bytes);
      // Nobody closer: the target is not in the network. Answer so the asker is not left waiting.
    }
    const report = equalBytes(frame.target, this.host.relayId)
      ? JSON.stringify(this.host.snapshot())
      : JSON.stringify({ error: "no such relay" });
    const reply = encodeFrame({
      type: FrameType.InspectReply,
      hops: MAX_HOPS,
      corr: frame.corr,
      origin: frame.origin,
      report,
    });
    this.routeInspectReply(decodeFrame(reply) as InspectReplyFrame, reply, true);
  }

  routeInspectReply(frame: InspectReplyFrame, bytes: Uint8Array, local = false): void {
    if (equalBytes(frame.origin, this.host.relayId)) {
      const asker = this.asked.get(frame.corr);
      this.asked.delete(frame.corr);
      if (asker && !asker.session.gone) {
        asker.session.send(encodeFrame({ ...frame, corr: asker.corr }));
      }
      return;
    }
    if (!local && !spendHop(bytes)) return;
    this.host.nextHop(frame.origin)?.send(bytes);
  }
}

function isZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}
