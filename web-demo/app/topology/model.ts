// The network as the relays report it, reduced to what the view draws: relays, peers, services, and
// links by kind. Pure: the same reports always give the same topology, sorted, so the picture holds
// still between polls unless the network changed.

import type { RelaySnapshot } from "../../../core/browser.ts";

export type EdgeKind = "relay" | "attach" | "direct";

export interface RelayNode {
  id: string;
  address: string;
  /** It answered its inspection this round. */
  reachable: boolean;
  draining: boolean;
  /** The relay this tab is attached to. */
  own: boolean;
}

export interface PeerNode {
  id: string;
  agent: string;
  relayId: string;
  clusters: string[];
  topics: string[];
  /** This tab. */
  self: boolean;
}

export interface Edge {
  kind: EdgeKind;
  from: string;
  to: string;
  draining: boolean;
}

export interface ServiceNode {
  id: string;
  kind: "cluster" | "topic";
  /** Peer ids of its members or subscribers. */
  peers: string[];
}

export interface Topology {
  relays: RelayNode[];
  peers: PeerNode[];
  edges: Edge[];
  services: ServiceNode[];
}

export interface TopologyInput {
  /** This tab's relay, by id, when its report arrived. */
  ownRelay: string | null;
  /** Every relay heard of, by id, with its report or null when it did not answer. */
  reports: ReadonlyMap<string, RelaySnapshot | null>;
  /** Addresses from directories, for relays that did not answer. */
  addresses: ReadonlyMap<string, string>;
  selfPeer: string;
  /** Peers this tab has a direct link with; null while core cannot say. */
  directPeers: readonly string[] | null;
}

export function buildTopology(input: TopologyInput): Topology {
  const relays: RelayNode[] = [];
  const peers = new Map<string, PeerNode>();
  const edges = new Map<string, Edge>();
  for (const [id, report] of [...input.reports].sort(([a], [b]) => a.localeCompare(b))) {
    relays.push({
      id,
      address: report?.address ?? input.addresses.get(id) ?? "?",
      reachable: report !== null,
      draining: report?.draining ?? false,
      own: id === input.ownRelay,
    });
    if (!report) continue;
    for (const link of report.links) {
      // Both ends report a link; one edge per pair, whichever end spoke first.
      const [a, b] = [id, link.relayId].sort() as [string, string];
      const key = `relay:${a}:${b}`;
      const known = edges.get(key);
      edges.set(key, { kind: "relay", from: a, to: b, draining: (known?.draining ?? false) || link.draining });
    }
    for (const peer of report.peers) {
      // During a failover a peer may show at two relays for a moment; the own relay's report wins.
      if (peers.has(peer.peerId) && id !== input.ownRelay) continue;
      peers.set(peer.peerId, {
        id: peer.peerId,
        agent: peer.agent,
        relayId: id,
        clusters: [...peer.clusters].sort(),
        topics: [...peer.topics].sort(),
        self: peer.peerId === input.selfPeer,
      });
    }
  }
  const relayIds = new Set(relays.map((relay) => relay.id));
  for (const [key, edge] of edges) if (!relayIds.has(edge.from) || !relayIds.has(edge.to)) edges.delete(key);
  for (const peer of peers.values()) {
    edges.set(`attach:${peer.id}`, { kind: "attach", from: peer.id, to: peer.relayId, draining: false });
  }
  for (const other of input.directPeers ?? []) {
    if (!peers.has(other) || !peers.has(input.selfPeer)) continue;
    const [a, b] = [input.selfPeer, other].sort() as [string, string];
    edges.set(`direct:${a}:${b}`, { kind: "direct", from: a, to: b, draining: false });
  }
  const sortedPeers = [...peers.values()].sort(
    (a, b) => a.relayId.localeCompare(b.relayId) || a.agent.localeCompare(b.agent) || a.id.localeCompare(b.id),
  );
  return { relays, peers: sortedPeers, edges: [...edges.values()], services: servicesOf(sortedPeers) };
}

function servicesOf(peers: PeerNode[]): ServiceNode[] {
  const services = new Map<string, ServiceNode>();
  const add = (id: string, kind: ServiceNode["kind"], peer: string) => {
    let service = services.get(`${kind}:${id}`);
    if (!service) services.set(`${kind}:${id}`, (service = { id, kind, peers: [] }));
    service.peers.push(peer);
  };
  for (const peer of peers) {
    for (const id of peer.clusters) add(id, "cluster", peer.id);
    for (const id of peer.topics) add(id, "topic", peer.id);
  }
  return [...services.values()].sort(
    (a, b) => a.kind.localeCompare(b.kind) || b.peers.length - a.peers.length || a.id.localeCompare(b.id),
  );
}

/** A peer's name for people: "tab 1a2b3c" for dashboard tabs, the agent without its runtime otherwise. */
export function peerLabel(peer: Pick<PeerNode, "id" | "agent">): string {
  if (peer.agent.startsWith("dashboard")) return `tab ${peer.id.slice(0, 6)}`;
  const agent = peer.agent.replace(/^node /, "");
  return agent && agent !== "node" && agent !== "browser" && agent !== "peer"
    ? agent
    : `${peer.agent || "peer"} ${peer.id.slice(0, 6)}`;
}
