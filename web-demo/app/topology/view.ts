// Draws the topology as SVG: relays on a ring, each relay's peers fanned out beyond it, links drawn by
// kind (relay-to-relay, a peer's WebSocket attachment, a direct WebRTC link). The same facts go into a
// table and a services list, for screen readers and for anyone who prefers text. Every drawn element
// carries data-* attributes naming what it is, which is also how the end-to-end test reads the picture.

import { el, short, svg } from "../dom.ts";
import type { Names } from "../names.ts";
import { edgePath, layout } from "./layout.ts";
import type { Layout, Point } from "./layout.ts";
import { peerLabel } from "./model.ts";
import type { Edge, PeerNode, RelayNode, Topology } from "./model.ts";

export class TopologyView {
  private last: Topology | null = null;
  private lastKind: Layout["kind"] | null = null;

  constructor(
    private readonly picture: SVGSVGElement,
    private readonly table: HTMLTableSectionElement,
    private readonly services: HTMLElement,
    private readonly names: Names,
  ) {
    // A phone turned sideways may want the other layout; redraw when it flips, not on every pixel.
    new ResizeObserver(() => {
      if (this.last && layout(this.last, this.width()).kind !== this.lastKind) this.render(this.last);
    }).observe(picture);
  }

  render(topology: Topology): void {
    this.last = topology;
    const placed = layout(topology, this.width());
    this.lastKind = placed.kind;
    const { x, y, width, height } = placed.viewBox;
    this.picture.setAttribute("viewBox", `${x} ${y} ${width} ${height}`);
    this.picture.setAttribute("class", `layout-${placed.kind}`);
    const edges = topology.edges.map((edge) => this.edge(edge, placed)).filter((path) => path !== null);
    const relays = topology.relays.map((relay) => this.relay(relay, placed.places.get(relay.id)!));
    const peers = topology.peers.map((peer) => this.peer(peer, placed.places.get(peer.id)!, placed.kind));
    this.picture.replaceChildren(
      svg("g", { class: "edges" }, ...edges),
      svg("g", { class: "relays" }, ...relays),
      svg("g", { class: "peers" }, ...peers),
    );
    this.picture.setAttribute("aria-label", summary(topology));
    this.renderTable(topology);
    this.renderServices(topology);
  }

  private width(): number {
    return this.picture.clientWidth || this.picture.getBoundingClientRect().width || 1000;
  }

  private edge(edge: Edge, placed: Layout): SVGPathElement | null {
    const from = placed.places.get(edge.from);
    const to = placed.places.get(edge.to);
    if (!from || !to) return null;
    const what =
      edge.kind === "relay" ? "relay link" : edge.kind === "attach" ? "WebSocket attachment" : "direct WebRTC link";
    return svg(
      "path",
      {
        class: `edge edge-${edge.kind}${edge.draining ? " draining" : ""}`,
        d: edgePath(placed.kind, edge.kind, from, to),
        "data-kind": edge.kind,
        "data-from": edge.from,
        "data-to": edge.to,
      },
      svg("title", {}, `${what}: ${short(edge.from)} – ${short(edge.to)}`),
    );
  }

  private relay(relay: RelayNode, at: Point): SVGGElement {
    const classes = [
      "relay",
      relay.own ? "own" : "",
      relay.reachable ? "" : "unreachable",
      relay.draining ? "draining" : "",
    ]
      .filter(Boolean)
      .join(" ");
    return svg(
      "g",
      { class: classes, transform: `translate(${at.x} ${at.y})`, "data-relay-id": relay.id },
      svg(
        "title",
        {},
        `relay ${relay.id} at ${relay.address}${relay.reachable ? "" : " (not answering)"}${relay.draining ? " (draining)" : ""}`,
      ),
      svg("rect", { x: -54, y: -19, width: 108, height: 38, rx: 8 }),
      svg("text", { y: -2, "text-anchor": "middle", class: "relay-name" }, `relay ${short(relay.id)}`),
      svg("text", { y: 12, "text-anchor": "middle", class: "relay-address" }, relay.address.replace(/^wss?:\/\//, "")),
    );
  }

  private peer(peer: PeerNode, at: Point, kind: Layout["kind"]): SVGGElement {
    const runtime = peer.agent.startsWith("dashboard") ? "tab" : "node";
    const services = [
      ...peer.clusters.map((id) => this.names.label(id, "cluster")),
      ...peer.topics.map((id) => `#${this.names.label(id, "topic")}`),
    ];
    return svg(
      "g",
      {
        class: `peer peer-${runtime}${peer.self ? " self" : ""}`,
        transform: `translate(${at.x} ${at.y})`,
        "data-peer-id": peer.id,
        "data-agent": peer.agent,
      },
      svg("title", {}, `peer ${peer.id} (${peer.agent}) on relay ${short(peer.relayId)}`),
      svg("circle", { r: peer.self ? 11 : 8 }),
      // Ring: labels above and below the dot; column: beside it, reading left to right.
      svg(
        "text",
        kind === "ring"
          ? { y: -15, "text-anchor": "middle", class: "peer-name" }
          : { x: 16, y: -2, class: "peer-name" },
        peer.self ? `${peerLabel(peer)} (this tab)` : peerLabel(peer),
      ),
      services.length > 0 &&
        svg(
          "text",
          kind === "ring"
            ? { y: 24, "text-anchor": "middle", class: "peer-services" }
            : { x: 16, y: 15, class: "peer-services" },
          truncate(services.join(" · "), 34),
        ),
    );
  }

  private renderTable(topology: Topology): void {
    const relayOf = new Map(topology.relays.map((relay) => [relay.id, relay]));
    const direct = new Set(
      topology.edges.filter((edge) => edge.kind === "direct").flatMap((edge) => [edge.from, edge.to]),
    );
    this.table.replaceChildren(
      ...topology.peers.map((peer) =>
        el(
          "tr",
          { "data-peer-id": peer.id },
          el("td", {}, peer.self ? `${peerLabel(peer)} (this tab)` : peerLabel(peer)),
          el("td", {}, peer.agent),
          el("td", {}, relayOf.get(peer.relayId)?.address ?? short(peer.relayId)),
          el("td", {}, peer.clusters.map((id) => this.names.label(id, "cluster")).join(", ") || "–"),
          el("td", {}, peer.topics.map((id) => this.names.label(id, "topic")).join(", ") || "–"),
          el("td", {}, direct.has(peer.id) ? "direct (WebRTC)" : "via relays"),
        ),
      ),
    );
  }

  private renderServices(topology: Topology): void {
    const items = topology.services.map((service) => {
      const count = service.peers.length;
      const noun =
        service.kind === "cluster" ? (count === 1 ? "member" : "members") : count === 1 ? "subscriber" : "subscribers";
      const peerNames = service.peers
        .map((id) => topology.peers.find((peer) => peer.id === id))
        .map((peer) => (peer ? peerLabel(peer) : "?"));
      return el(
        "li",
        { "data-service-id": service.id, "data-kind": service.kind },
        el("strong", {}, `${service.kind} ${this.names.label(service.id, service.kind)}`),
        `: ${count} ${noun} (${peerNames.join(", ")})`,
      );
    });
    this.services.replaceChildren(...(items.length > 0 ? items : [el("li", {}, "No clusters or topics yet.")]));
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function summary(topology: Topology): string {
  const count = (kind: Edge["kind"]) => topology.edges.filter((edge) => edge.kind === kind).length;
  return `Network: ${topology.relays.length} relays with ${count("relay")} relay links, ${topology.peers.length} peers, ${count("direct")} direct links, ${topology.services.length} clusters and topics.`;
}
