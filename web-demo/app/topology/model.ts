// The network as the relays report it, reduced to what the page draws: relays, peers, services, and
// links by kind. Pure: the same inputs always give the same topology, in a stable order.
//
// A relay is known by its address, not its id: a relay started again gets a new id at the same
// address, and is the same box on the page, not a second one beside a leftover. Relays the stack
// started come first, in its order ("relay 1", "relay 2"...), whether they answer or not, so a relay
// that is down stays in its place and says so.

import type { RelaySnapshot } from "../../../core/browser.ts";

export type RelayStatsReport = NonNullable<RelaySnapshot["stats"]>;

export type EdgeKind = "relay" | "attach" | "direct";

/** What the stack's relay controls say of a relay's process (see /api/relays). */
export type ProcessState = "starting" | "up" | "stopping" | "draining" | "down";

/** How a relay is, in the words the page shows. */
export type RelayCondition = "up" | "draining" | "starting" | "stopping" | "down" | "not answering" | "unknown";

export interface RelayNode {
  /** Its address: stable across restarts, unlike its id. */
  key: string;
  id: string | null;
  address: string;
  /** "relay 1" for the stack's relays, "relay 1a2b3c" for others. */
  name: string;
  condition: RelayCondition;
  /** It answered its inspection this round. */
  reachable: boolean;
  /** The relay this tab is attached to. */
  own: boolean;
  stats: RelayStatsReport | null;
  report: RelaySnapshot | null;
  /** The stack's process id, pid and how its last run ended, when the stack's controls say. */
  process: { state: ProcessState; pid: number | null; lastExit: string | null; since: number } | null;
}

export interface PeerNode {
  id: string;
  agent: string;
  /** The key (address) of the relay it is attached to. */
  relay: string;
  clusters: string[];
  topics: string[];
  /** This tab. */
  self: boolean;
  /** Not reported any more, shown a little longer so people see where it went; null while reported. */
  stale: { since: number; why: "moving" | "left" } | null;
}

export interface Edge {
  kind: EdgeKind;
  /** Relay keys for relay links; peer id then relay key for attachments; peer ids for direct links. */
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

export interface ControlStatus {
  url: string | null;
  name: string;
  state: ProcessState;
  pid: number | null;
  relayId: string | null;
  lastExit: string | null;
  since: number;
}

export interface TopologyInput {
  /** This tab's relay, by id, when its report arrived. */
  ownRelay: string | null;
  /** Every relay heard of, by id, with its report or null when it did not answer. */
  reports: ReadonlyMap<string, RelaySnapshot | null>;
  /** Addresses from directories, for relays that did not answer. */
  addresses: ReadonlyMap<string, string>;
  /** The stack's relays, in its order (from /iris-config.json); empty when the page has no stack. */
  stackRelays: readonly string[];
  /** The stack's relay processes, when it offers controls. */
  control: readonly ControlStatus[] | null;
  /** The reports are this round's (false: the last ones this tab got, while it cannot ask). */
  current?: boolean;
  selfPeer: string;
  /** Peers this tab has a direct link with; null while core cannot say. */
  directPeers: readonly string[] | null;
}

export function buildTopology(input: TopologyInput): Topology {
  const relays = relayNodes(input);
  const keyOfId = new Map<string, string>();
  for (const relay of relays) if (relay.id) keyOfId.set(relay.id, relay.key);
  for (const [id, address] of input.addresses) if (!keyOfId.has(id)) keyOfId.set(id, address);

  const peers = new Map<string, PeerNode>();
  const edges = new Map<string, Edge>();
  for (const relay of relays) {
    const report = relay.report;
    if (!report) continue;
    for (const link of report.links) {
      const other = keyOfId.get(link.relayId) ?? link.address;
      // Both ends report a link; one edge per pair, whichever end spoke first.
      const [a, b] = [relay.key, other].sort() as [string, string];
      const known = edges.get(`relay:${a}:${b}`);
      edges.set(`relay:${a}:${b}`, {
        kind: "relay",
        from: a,
        to: b,
        draining: (known?.draining ?? false) || link.draining,
      });
    }
    for (const peer of report.peers) {
      // During a failover a peer may show at two relays for a moment; the own relay's report wins.
      if (peers.has(peer.peerId) && !relay.own) continue;
      peers.set(peer.peerId, {
        id: peer.peerId,
        agent: peer.agent,
        relay: relay.key,
        clusters: [...peer.clusters].sort(),
        topics: [...peer.topics].sort(),
        self: peer.peerId === input.selfPeer,
        stale: null,
      });
    }
  }
  const relayKeys = new Set(relays.map((relay) => relay.key));
  for (const [key, edge] of edges) if (!relayKeys.has(edge.from) || !relayKeys.has(edge.to)) edges.delete(key);
  for (const peer of peers.values()) {
    edges.set(`attach:${peer.id}`, { kind: "attach", from: peer.id, to: peer.relay, draining: false });
  }
  for (const other of input.directPeers ?? []) {
    if (!peers.has(other) || !peers.has(input.selfPeer)) continue;
    const [a, b] = [input.selfPeer, other].sort() as [string, string];
    edges.set(`direct:${a}:${b}`, { kind: "direct", from: a, to: b, draining: false });
  }
  const order = new Map(relays.map((relay, i) => [relay.key, i]));
  const sortedPeers = [...peers.values()].sort(
    (a, b) =>
      (order.get(a.relay) ?? 0) - (order.get(b.relay) ?? 0) ||
      a.agent.localeCompare(b.agent) ||
      a.id.localeCompare(b.id),
  );
  return { relays, peers: sortedPeers, edges: [...edges.values()], services: servicesOf(sortedPeers) };
}

/** One node per address: the id that answered wins over ids that did not (a restarted relay's old id). */
function relayNodes(input: TopologyInput): RelayNode[] {
  const byAddress = new Map<string, { id: string; report: RelaySnapshot | null }>();
  for (const [id, report] of [...input.reports].sort(([a], [b]) => a.localeCompare(b))) {
    const address = report?.address ?? input.addresses.get(id) ?? id;
    const known = byAddress.get(address);
    if (!known || (known.report === null && report !== null)) byAddress.set(address, { id, report });
  }
  const control = new Map((input.control ?? []).filter((c) => c.url).map((c) => [c.url!, c]));
  const addresses = [...input.stackRelays, ...[...byAddress.keys()].filter((a) => !input.stackRelays.includes(a))];
  return addresses.map((address) => {
    const found = byAddress.get(address) ?? null;
    const process = control.get(address) ?? null;
    // A report from before the process went away says nothing about now.
    const gone = process?.state === "down" || process?.state === "stopping" || process?.state === "starting";
    const report = gone ? null : (found?.report ?? null);
    const stackIndex = input.stackRelays.indexOf(address);
    const id = found?.id ?? process?.relayId ?? null;
    return {
      key: address,
      id,
      address,
      name: process?.name ?? (stackIndex >= 0 ? `relay ${stackIndex + 1}` : `relay ${(id ?? address).slice(0, 6)}`),
      condition: conditionOf(report, process?.state ?? null, input.current ?? true),
      reachable: report !== null,
      own: id !== null && id === input.ownRelay,
      stats: report?.stats ?? null,
      report,
      process: process
        ? { state: process.state, pid: process.pid, lastExit: process.lastExit, since: process.since }
        : null,
    };
  });
}

function conditionOf(report: RelaySnapshot | null, process: ProcessState | null, current: boolean): RelayCondition {
  // The process's own state is the truth about its life; the report, about its work.
  if (process === "down" || process === "starting" || process === "stopping") return process;
  if (process === "draining" || report?.draining) return "draining";
  // Old reports say nothing about now: without the process's word, the page does not know.
  if (!current) return process === "up" ? "up" : "unknown";
  return report ? "up" : "not answering";
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

/** A dashboard tab, as opposed to a Node peer or another application. */
export function isTab(peer: Pick<PeerNode, "agent">): boolean {
  return peer.agent.startsWith("dashboard");
}

/** A peer's one name, everywhere on the page: "tab 1a2b3c" for tabs, the agent's name for Node peers. */
export function peerLabel(peer: Pick<PeerNode, "id" | "agent">): string {
  if (isTab(peer)) return `tab ${peer.id.slice(0, 6)}`;
  const agent = peer.agent.replace(/^node /, "");
  return agent && agent !== "node" && agent !== "browser" && agent !== "peer"
    ? agent
    : `${peer.agent || "peer"} ${peer.id.slice(0, 6)}`;
}
