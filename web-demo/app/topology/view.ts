// Draws the topology as SVG: relays, the peers attached to each, and links by kind. Elements are kept
// from one poll to the next, keyed by what they show, and only moved or restyled: a peer that fails
// over glides to its new relay instead of the whole picture being redrawn. Every element carries
// data-* attributes naming what it is, which is also how the end-to-end test reads the picture; relays
// and peers are buttons (click, Enter or Space) that open their details.

import { short, svg } from "../dom.ts";
import { StableLayout } from "./layout.ts";
import type { Layout } from "./layout.ts";
import { LINE } from "./labels.ts";
import { peerLabel } from "./model.ts";
import type { Edge, PeerNode, RelayNode, Topology } from "./model.ts";
import { edgePath } from "./paths.ts";

export type Selection = { kind: "relay"; key: string } | { kind: "peer"; id: string } | null;

const CONDITION_WORDS: Record<RelayNode["condition"], string> = {
  up: "up",
  draining: "draining",
  starting: "starting",
  stopping: "stopping",
  down: "down",
  "not answering": "not answering",
  unknown: "not known",
};

export class TopologyView {
  private readonly layoutMemory = new StableLayout();
  private readonly layers: Record<"edges" | "relays" | "peers" | "traffic", SVGGElement>;
  private readonly elements = new Map<string, SVGElement>();
  private last: Topology | null = null;
  private lastLayout: Layout | null = null;
  private selection: Selection = null;

  constructor(
    private readonly picture: SVGSVGElement,
    /** A peer's label lines after its name (what it serves), in the page's names. */
    private readonly describe: (peer: PeerNode) => string[],
    private readonly onSelect: (selection: Selection) => void,
  ) {
    this.layers = {
      edges: svg("g", { class: "edges" }),
      relays: svg("g", { class: "relays" }),
      peers: svg("g", { class: "peers" }),
      traffic: svg("g", { class: "traffic", "aria-hidden": "true" }),
    };
    picture.replaceChildren(this.layers.edges, this.layers.relays, this.layers.peers, this.layers.traffic);
    // A phone turned sideways may want the other layout; redraw when the width changes.
    let width = this.width();
    new ResizeObserver(() => {
      const now = this.width();
      if (this.last && Math.abs(now - width) > 8) this.render(this.last);
      width = now;
    }).observe(picture);
    const choose = (event: Event) => {
      const target = event.target instanceof Element ? event.target.closest<SVGElement>("[data-select]") : null;
      if (!target) return;
      const [kind, key] = [target.dataset.select, target.dataset.key ?? ""];
      this.select(kind === "relay" ? { kind: "relay", key } : { kind: "peer", id: key });
    };
    picture.addEventListener("click", choose);
    picture.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        choose(event);
      }
    });
  }

  /** The layout last drawn (the traffic layer draws journeys on it). */
  get layout(): Layout | null {
    return this.lastLayout;
  }

  get trafficLayer(): SVGGElement {
    return this.layers.traffic;
  }

  select(selection: Selection): void {
    this.selection = selection;
    for (const element of this.elements.values()) {
      const key = element.dataset.key;
      const chosen =
        selection !== null && key !== undefined && (selection.kind === "relay" ? selection.key : selection.id) === key;
      element.classList.toggle("selected", chosen);
      if (element.dataset.select) element.setAttribute("aria-pressed", String(chosen));
    }
    this.onSelect(selection);
  }

  render(topology: Topology): void {
    this.last = topology;
    const layout = this.layoutMemory.place(topology, this.width(), (peer) => this.lines(peer));
    this.lastLayout = layout;
    const { x, y, width, height } = layout.viewBox;
    this.picture.setAttribute("viewBox", `${x} ${y} ${width} ${height}`);
    this.picture.dataset.layout = layout.kind;
    this.picture.classList.toggle("layout-column", layout.kind === "column");
    this.picture.classList.toggle("layout-ring", layout.kind === "ring");
    const seen = new Set<string>();
    for (const edge of topology.edges) this.drawEdge(edge, layout, seen);
    for (const relay of topology.relays) this.drawRelay(relay, layout, seen);
    for (const peer of topology.peers) this.drawPeer(peer, layout, seen);
    for (const [key, element] of this.elements) {
      if (seen.has(key)) continue;
      element.remove();
      this.elements.delete(key);
    }
    this.picture.setAttribute("aria-label", summary(topology));
    if (this.selection) this.select(this.selection);
  }

  private width(): number {
    return this.picture.clientWidth || this.picture.getBoundingClientRect().width || 1000;
  }

  private lines(peer: PeerNode): string[] {
    const name = peer.self ? `${peerLabel(peer)} (this tab)` : peerLabel(peer);
    const status = peer.stale ? [peer.stale.why === "moving" ? "relay gone: moving…" : "left"] : [];
    return [name, ...status, ...this.describe(peer)];
  }

  private element<K extends keyof SVGElementTagNameMap>(
    key: string,
    tag: K,
    layer: SVGGElement,
    seen: Set<string>,
  ): { element: SVGElementTagNameMap[K]; fresh: boolean } {
    seen.add(key);
    const known = this.elements.get(key);
    if (known) return { element: known as SVGElementTagNameMap[K], fresh: false };
    const element = svg(tag);
    this.elements.set(key, element);
    layer.append(element);
    return { element, fresh: true };
  }

  private drawEdge(edge: Edge, layout: Layout, seen: Set<string>): void {
    const d = edgePath(layout, edge);
    if (d === null) return;
    const { element } = this.element(`edge:${edge.kind}:${edge.from}:${edge.to}`, "path", this.layers.edges, seen);
    element.setAttribute("class", `edge edge-${edge.kind}${edge.draining ? " draining" : ""}`);
    element.setAttribute("d", d);
    element.dataset.kind = edge.kind;
    element.dataset.from = edge.from;
    element.dataset.to = edge.to;
  }

  private drawRelay(relay: RelayNode, layout: Layout, seen: Set<string>): void {
    const at = layout.relays.get(relay.key);
    if (!at) return;
    const { element: group, fresh } = this.element(`relay:${relay.key}`, "g", this.layers.relays, seen);
    const { halfWidth, halfHeight } = layout.relayBox;
    const condition = relay.condition.replace(" ", "-");
    group.setAttribute("class", `relay condition-${condition}${relay.own ? " own" : ""}`);
    group.style.transform = `translate(${at.x}px, ${at.y}px)`;
    Object.assign(group.dataset, {
      key: relay.key,
      select: "relay",
      relayKey: relay.key,
      relayId: relay.id ?? "",
      condition: relay.condition,
    });
    group.setAttribute("role", "button");
    group.setAttribute("tabindex", "0");
    const address = relay.address.replace(/^wss?:\/\//, "");
    group.setAttribute(
      "aria-label",
      `${relay.name}, ${CONDITION_WORDS[relay.condition]}, ${address}${relay.own ? ", this tab's relay" : ""}: details`,
    );
    if (fresh) group.style.transition = "none";
    else group.style.removeProperty("transition");
    // While the whole picture is out of date (greyed, with a notice), a relay's state is not known.
    const badge =
      relay.condition === "up" || relay.condition === "unknown" ? null : CONDITION_WORDS[relay.condition].toUpperCase();
    const parts: SVGElement[] = [
      svg("rect", {
        class: "relay-box",
        x: -halfWidth,
        y: -halfHeight,
        width: halfWidth * 2,
        height: halfHeight * 2,
        rx: 8,
      }),
      svg("text", { y: -3, "text-anchor": "middle", class: "relay-name" }, relay.name),
      svg("text", { y: 13, "text-anchor": "middle", class: "relay-address" }, address),
    ];
    if (badge) {
      parts.push(
        svg(
          "g",
          { class: "relay-badge", transform: `translate(0 ${-halfHeight})` },
          svg("rect", { x: -badge.length * 4 - 8, y: -9, width: badge.length * 8 + 16, height: 18, rx: 9 }),
          svg("text", { y: 4, "text-anchor": "middle" }, badge),
        ),
      );
    }
    group.replaceChildren(...parts);
  }

  private drawPeer(peer: PeerNode, layout: Layout, seen: Set<string>): void {
    const at = layout.peers.get(peer.id);
    const label = layout.labels.get(peer.id);
    if (!at || !label) return;
    const { element: group, fresh } = this.element(`peer:${peer.id}`, "g", this.layers.peers, seen);
    const runtime = peer.agent.startsWith("dashboard") ? "tab" : "node";
    group.setAttribute(
      "class",
      `peer peer-${runtime}${peer.self ? " self" : ""}${peer.stale ? ` stale stale-${peer.stale.why}` : ""}`,
    );
    group.style.transform = `translate(${at.x}px, ${at.y}px)`;
    if (fresh) group.style.transition = "none";
    else group.style.removeProperty("transition");
    Object.assign(group.dataset, {
      key: peer.id,
      select: "peer",
      peerId: peer.id,
      agent: peer.agent,
      relay: peer.relay,
    });
    if (peer.stale) group.dataset.stale = peer.stale.why;
    else delete group.dataset.stale;
    group.setAttribute("role", "button");
    group.setAttribute("tabindex", "0");
    group.setAttribute("aria-label", `${label.lines.join(", ")}: details`);
    const text = svg("text", {
      x: label.x - at.x,
      y: label.y - at.y,
      "text-anchor": label.anchor,
      class: "peer-label",
    });
    label.lines.forEach((line, i) => {
      text.append(
        svg("tspan", { x: label.x - at.x, dy: i === 0 ? 0 : LINE, class: i === 0 ? "peer-name" : "peer-detail" }, line),
      );
    });
    group.replaceChildren(
      svg("title", {}, `${peerLabel(peer)}: peer ${short(peer.id)}…`),
      svg("circle", { r: peer.self ? 11 : 8 }),
      text,
    );
  }
}

function summary(topology: Topology): string {
  const count = (kind: Edge["kind"]) => topology.edges.filter((edge) => edge.kind === kind).length;
  const up = topology.relays.filter((relay) => relay.condition === "up").length;
  return `Network: ${topology.relays.length} relays (${up} up) with ${count("relay")} relay links, ${topology.peers.filter((p) => !p.stale).length} peers, ${count("direct")} direct links of this tab, ${topology.services.length} clusters and topics.`;
}
