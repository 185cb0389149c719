// The details of what was clicked in the topology: a relay (its state in words, its counters, the
// trees it holds) or a peer (what it serves, where it is attached, its direct links). Redrawn on every
// poll while it is open, so the numbers stay live.

import { el, formatBytes, formatByteRate, formatRate } from "../dom.ts";
import type { Names } from "../names.ts";
import type { PeerNames } from "../peer-names.ts";
import type { RelayRates } from "../relays/relay-rates.ts";
import { describeCondition } from "../relays/relay-words.ts";
import type { PeerNode, RelayNode, Topology } from "./model.ts";
import type { Selection } from "./view.ts";

export interface DetailsContext {
  names: Names;
  peers: PeerNames;
  rates: ReadonlyMap<string, RelayRates | null>;
  /** This tab's requests by route so far. */
  requestRoutes: { relayed: number; direct: number };
}

export function renderDetails(
  box: HTMLElement,
  selection: Selection,
  topology: Topology,
  context: DetailsContext,
): void {
  if (selection === null) {
    box.replaceChildren(
      el("p", { class: "hint" }, "Click a relay or a peer in the picture (or press Enter on it) for its details."),
    );
    return;
  }
  if (selection.kind === "relay") {
    const relay = topology.relays.find((r) => r.key === selection.key);
    box.replaceChildren(...(relay ? relayDetails(relay, topology, context) : [gone("That relay is no longer known.")]));
  } else {
    const peer = topology.peers.find((p) => p.id === selection.id);
    box.replaceChildren(...(peer ? peerDetails(peer, topology, context) : [gone("That peer has left.")]));
  }
}

function gone(text: string): HTMLElement {
  return el("p", { class: "hint" }, text);
}

function facts(rows: Array<[string, string | Node]>): HTMLDListElement {
  const list = el("dl", { class: "facts" });
  for (const [term, value] of rows) list.append(el("dt", {}, term), el("dd", {}, value));
  return list;
}

function relayDetails(relay: RelayNode, topology: Topology, context: DetailsContext): HTMLElement[] {
  const stats = relay.stats;
  const rates = context.rates.get(relay.key) ?? null;
  const nameOf = new Map(topology.relays.filter((r) => r.id).map((r) => [r.id!, r.name]));
  const rows: Array<[string, string | Node]> = [
    ["State", describeCondition(relay, Date.now())],
    ["Address", relay.address],
    ["Relay id", relay.id ?? "not known yet"],
  ];
  if (relay.process)
    rows.push([
      "Process",
      relay.process.pid ? `pid ${relay.process.pid}` : `not running (${relay.process.lastExit ?? "stopped"})`,
    ]);
  if (stats) {
    rows.push(
      ["Peers", String(stats.peers)],
      ["Relay links", relay.report?.links.map((link) => nameOf.get(link.relayId) ?? link.address).join(", ") || "none"],
      ["Messages in", rates ? `${formatRate(rates.messagesIn)} per second` : "measuring…"],
      ["Traffic", rates ? `${formatByteRate(rates.bytes)} in and out` : "measuring…"],
      ["Queued", formatBytes(stats.queuedBytes)],
      ["Slow-consumer drops", `${stats.slowConsumerDrops} frames, ${stats.slowConsumerDisconnects} peers cut`],
      // Flow control: a relay stops reading senders whose frames head for a full queue.
      ["Senders paused", `${stats.pausedSenders} now, ${stats.pauses} times since start`],
      ["Requests placed", `${stats.requestsPlaced} (${stats.requestsPlacedAgain} placed again after a failure)`],
      ["Open tunnels", String(stats.tunnelsOpen)],
      [
        "Since start",
        `${stats.framesIn} frames in (${formatBytes(stats.bytesIn)}), ${stats.framesOut} out (${formatBytes(stats.bytesOut)})`,
      ],
    );
  }
  const trees = (relay.report?.trees ?? []).filter((tree) => !context.names.hidden(tree.id));
  const treeList = el(
    "ul",
    { class: "plain" },
    ...trees.map((tree) =>
      el(
        "li",
        {},
        el("strong", {}, context.names.label(tree.id)),
        tree.root
          ? ": root here"
          : `: parent ${tree.parent ? (nameOf.get(tree.parent) ?? tree.parent.slice(0, 6)) : "none"}`,
        `, ${tree.local} here, ${tree.children.reduce((sum, child) => sum + child.count, 0)} below`,
      ),
    ),
  );
  return [
    el("h3", { id: "details-title" }, relay.name),
    facts(rows),
    el("h4", {}, "Trees (clusters and topics it routes)"),
    trees.length > 0 ? treeList : el("p", { class: "hint" }, "None."),
  ];
}

function peerDetails(peer: PeerNode, topology: Topology, context: DetailsContext): HTMLElement[] {
  const relay = topology.relays.find((r) => r.key === peer.relay);
  const direct = topology.edges.filter((e) => e.kind === "direct" && (e.from === peer.id || e.to === peer.id));
  const visible = (ids: string[]) => ids.filter((id) => !context.names.hidden(id)).map((id) => context.names.label(id));
  const rows: Array<[string, string | Node]> = [
    ["Peer id", peer.id],
    ["Runs as", peer.agent],
    ["Attached to", relay ? `${relay.name} (${relay.address})` : peer.relay],
    ["Member of", visible(peer.clusters).join(", ") || "no cluster"],
    ["Subscribes to", visible(peer.topics).join(", ") || "no topic"],
    [
      "Direct links",
      direct.map((e) => context.peers.name(e.from === peer.id ? e.to : e.from)).join(", ") || "none seen from this tab",
    ],
  ];
  if (peer.stale)
    rows.push(["Now", peer.stale.why === "moving" ? "its relay went away; it is moving to another" : "gone"]);
  if (peer.self) {
    const routes = context.requestRoutes;
    rows.push(["Requests sent", `${routes.relayed} through the relays, ${routes.direct} over direct links`]);
  }
  return [
    el("h3", { id: "details-title" }, context.peers.name(peer.id) + (peer.self ? " (this tab)" : "")),
    facts(rows),
  ];
}
