// Where the topology's nodes and labels go. Two layouts:
//
// - a ring, for wide screens: relays on an inner ring, each relay's peers on an outer ring in the
//   sector facing away from the centre, labels outside, and direct links along a track between the
//   two rings, so a direct link never runs through a relay;
// - a column, for phones: relays one below the other, each with its peers listed under it (a full
//   line for each label), and the relay links as nested arcs in the left margin.
//
// Positions hold still: a peer keeps its slot around its relay for as long as it is shown, and a new
// peer takes the first free slot, so nothing reshuffles when someone joins or leaves. Labels are placed
// one by one where they overlap no other label, dot or relay (labels.ts).

import { LINE, placeLabel } from "./labels.ts";
import type { Box, Label } from "./labels.ts";
import { peerLabel } from "./model.ts";
import type { PeerNode, Topology } from "./model.ts";

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  kind: "ring" | "column";
  relays: Map<string, Point>;
  peers: Map<string, Point>;
  /** Each peer's angle from the centre (ring layout), for direct-link paths. */
  angles: Map<string, number>;
  labels: Map<string, Label>;
  /** Half the size of a relay's box in this layout. */
  relayBox: { halfWidth: number; halfHeight: number };
  viewBox: { x: number; y: number; width: number; height: number };
  /** The direct-link track's radius (ring layout), for edge paths. */
  track: number;
}

/** Below this drawing width (CSS pixels) the column layout is used. */
export const COLUMN_BELOW = 640;

const RING = { relay: 112, peer: 222, track: 170, stretch: 1.42, step: 0.4, outer: 72 };
const RING_BOX = { halfWidth: 62, halfHeight: 23 };
const RING_FRAME: Box[] = [
  { x: -RING.peer * RING.stretch - 110, y: -RING.peer - 40, width: 1, height: 1 },
  { x: RING.peer * RING.stretch + 110, y: RING.peer * 0.8, width: 1, height: 1 },
];
/** Column layout: the margin for relay-link arcs, the relay boxes' height, a peer row, the gaps. */
export const COLUMN = { gutter: 36, boxHeight: 40, row: 38, firstRow: 44, gap: 18, reserve: 2, margin: 6 };

export class StableLayout {
  /** Each peer's slot at its relay, kept while it is shown. */
  private readonly slots = new Map<string, { relay: string; slot: number }>();
  /** Column layout: the most rows each relay has needed, so a peer leaving moves nothing up. */
  private readonly rowsNeeded = new Map<string, number>();

  /**
   * Places `topology` for a drawing `drawingWidth` CSS pixels wide; `describe` gives a peer's label
   * lines (its name first).
   */
  place(topology: Topology, drawingWidth: number, describe: (peer: PeerNode) => string[] = defaultLines): Layout {
    this.assignSlots(topology);
    return drawingWidth < COLUMN_BELOW ? this.column(topology, drawingWidth, describe) : this.ring(topology, describe);
  }

  /** The slot of a peer (for tests and for the order labels are placed in). */
  slotOf(peerId: string): number | null {
    return this.slots.get(peerId)?.slot ?? null;
  }

  private assignSlots(topology: Topology): void {
    const shown = new Set(topology.peers.map((peer) => peer.id));
    for (const id of [...this.slots.keys()]) if (!shown.has(id)) this.slots.delete(id);
    for (const peer of topology.peers) {
      const held = this.slots.get(peer.id);
      if (held && held.relay === peer.relay) continue;
      const taken = new Set([...this.slots.values()].filter((s) => s.relay === peer.relay).map((s) => s.slot));
      let slot = 0;
      while (taken.has(slot)) slot++;
      this.slots.set(peer.id, { relay: peer.relay, slot });
    }
  }

  private bySlot(topology: Topology): Map<string, PeerNode[]> {
    const groups = new Map<string, PeerNode[]>(topology.relays.map((relay) => [relay.key, []]));
    for (const peer of topology.peers) groups.get(peer.relay)?.push(peer);
    for (const peers of groups.values()) peers.sort((a, b) => this.slotOf(a.id)! - this.slotOf(b.id)!);
    return groups;
  }

  private ring(topology: Topology, describe: (peer: PeerNode) => string[]): Layout {
    const count = topology.relays.length;
    const relays = new Map<string, Point>();
    const angles = new Map<string, number>();
    topology.relays.forEach((relay, i) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, count);
      angles.set(relay.key, angle);
      relays.set(relay.key, count === 1 ? { x: 0, y: 0 } : onRing(angle, RING.relay));
    });
    const peers = new Map<string, Point>();
    const peerAngles = new Map<string, number>();
    const half = Math.PI / Math.max(1, count);
    const perRing =
      count === 1 ? Math.floor((2 * Math.PI) / RING.step) : 1 + 2 * Math.floor((half - RING.step / 2) / RING.step);
    for (const [key, group] of this.bySlot(topology)) {
      const facing = angles.get(key) ?? 0;
      for (const peer of group) {
        const slot = this.slotOf(peer.id)!;
        const ring = Math.floor(slot / perRing);
        const radius = RING.peer + ring * RING.outer;
        const step = (RING.step * RING.peer) / radius;
        const k = slot % perRing;
        // 0, +1, -1, +2, -2...: the first peers sit straight out from their relay.
        const offset =
          count === 1 ? k * step : (k % 2 === 1 ? 1 : -1) * Math.ceil(k / 2) * step + (ring % 2) * (step / 2);
        const angle = facing + offset;
        peerAngles.set(peer.id, angle);
        peers.set(peer.id, onRing(angle, radius));
      }
    }
    const obstacles: Box[] = [...relays.values()].map((p) =>
      boxAround(p, RING_BOX.halfWidth + 4, RING_BOX.halfHeight + 4),
    );
    for (const [id, p] of peers)
      obstacles.push(boxAround(p, id === selfId(topology) ? 12 : 9, id === selfId(topology) ? 12 : 9));
    const labels = new Map<string, Label>();
    for (const peer of orderForLabels(topology, this)) {
      const p = peers.get(peer.id)!;
      const lines = describe(peer).map((line) => truncate(line, 30));
      const label = placeLabel(p, peerAngles.get(peer.id)!, lines, obstacles);
      labels.set(peer.id, label);
      obstacles.push(label.box);
    }
    return {
      kind: "ring",
      relays,
      peers,
      angles: peerAngles,
      labels,
      relayBox: RING_BOX,
      // At least the rings' own extent, so the picture keeps its scale as labels come and go.
      viewBox: fit([...obstacles, ...RING_FRAME], 16),
      track: RING.track,
    };
  }

  private column(topology: Topology, drawingWidth: number, describe: (peer: PeerNode) => string[]): Layout {
    const width = Math.max(280, Math.round(drawingWidth));
    const halfWidth = (width - COLUMN.gutter - COLUMN.margin) / 2;
    const halfHeight = COLUMN.boxHeight / 2;
    const relays = new Map<string, Point>();
    const peers = new Map<string, Point>();
    const labels = new Map<string, Label>();
    const spine = COLUMN.gutter + 16;
    const dotX = spine + 14;
    const maxChars = Math.floor((width - dotX - 16) / 7.2);
    let y = COLUMN.margin + halfHeight;
    for (const [key, group] of this.bySlot(topology)) {
      relays.set(key, { x: COLUMN.gutter + halfWidth, y });
      // Room for a few peers even before they come, and for as many as ever came: relays below move
      // (all together, down) only when a relay needs more rows than it ever did.
      const rows = Math.max(
        COLUMN.reserve,
        this.rowsNeeded.get(key) ?? 0,
        ...group.map((peer) => this.slotOf(peer.id)! + 1),
      );
      this.rowsNeeded.set(key, rows);
      for (const peer of group) {
        const at = { x: dotX, y: y + COLUMN.firstRow + this.slotOf(peer.id)! * COLUMN.row };
        peers.set(peer.id, at);
        const lines = describe(peer).map((line, i) => truncate(line, i === 0 ? maxChars : Math.floor(maxChars * 1.15)));
        const box = { x: at.x + 10, y: at.y - 13, width: width - at.x - 12, height: lines.length * LINE + 2 };
        labels.set(peer.id, { x: at.x + 12, y: at.y + 4 - (lines.length > 1 ? 6 : 0), anchor: "start", lines, box });
      }
      y += COLUMN.firstRow + (rows - 1) * COLUMN.row + COLUMN.gap + COLUMN.boxHeight;
    }
    // The last relay's last row, and room for a two-line label under its dot.
    const bottom = y - COLUMN.gap - COLUMN.boxHeight + 2 * LINE - 11 + COLUMN.margin;
    return {
      kind: "column",
      relays,
      peers,
      angles: new Map(),
      labels,
      relayBox: { halfWidth, halfHeight },
      viewBox: { x: 0, y: 0, width, height: Math.max(bottom, COLUMN.boxHeight + 2 * COLUMN.margin) },
      track: 0,
    };
  }
}

/** A point on the ring layout's stretched circle (labels are wide, so the rings are too). */
export function onRing(angle: number, radius: number): Point {
  return { x: radius * RING.stretch * Math.cos(angle), y: radius * Math.sin(angle) };
}

function selfId(topology: Topology): string | null {
  return topology.peers.find((peer) => peer.self)?.id ?? null;
}

/** Live peers before stale ones, this tab first: the labels that matter most get the best places. */
function orderForLabels(topology: Topology, layout: StableLayout): PeerNode[] {
  return [...topology.peers].sort(
    (a, b) =>
      Number(a.stale !== null) - Number(b.stale !== null) ||
      Number(b.self) - Number(a.self) ||
      layout.slotOf(a.id)! - layout.slotOf(b.id)!,
  );
}

/** Without a describer: the peer's name alone. */
function defaultLines(peer: PeerNode): string[] {
  return [peer.self ? `${peerLabel(peer)} (this tab)` : peerLabel(peer)];
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

function boxAround(p: Point, halfWidth: number, halfHeight: number): Box {
  return { x: p.x - halfWidth, y: p.y - halfHeight, width: halfWidth * 2, height: halfHeight * 2 };
}

function fit(boxes: Box[], margin: number): Layout["viewBox"] {
  if (boxes.length === 0) return { x: -200, y: -100, width: 400, height: 200 };
  const minX = Math.min(...boxes.map((b) => b.x)) - margin;
  const minY = Math.min(...boxes.map((b) => b.y)) - margin;
  const maxX = Math.max(...boxes.map((b) => b.x + b.width)) + margin;
  const maxY = Math.max(...boxes.map((b) => b.y + b.height)) + margin;
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}
