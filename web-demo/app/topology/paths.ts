// The shapes of links, as SVG path data, and of a message's journey along several of them. Every
// segment runs from one node's centre to the next (boxes and dots are drawn over the ends), so a
// journey is just its segments one after another.
//
// Ring layout: straight lines, except direct links, which leave their peer toward the centre, follow
// the track between the two rings, and come back out: never through a relay. Column layout: relay
// links are arcs in the left margin, nested by how far apart their ends are; attachments run down a
// spine from each relay to its peers; direct links run along the right edge.

import type { Layout, Point } from "./layout.ts";
import { COLUMN, onRing } from "./layout.ts";
import type { Edge } from "./model.ts";

type Kind = "relay" | "peer";

function kindOf(layout: Layout, key: string): Kind | null {
  if (layout.relays.has(key)) return "relay";
  if (layout.peers.has(key)) return "peer";
  return null;
}

function at(layout: Layout, key: string): Point | null {
  return layout.relays.get(key) ?? layout.peers.get(key) ?? null;
}

const f = (n: number) => Math.round(n * 10) / 10;
const pt = (p: Point) => `${f(p.x)} ${f(p.y)}`;

/** Path commands from `from`'s centre to `to`'s (without the initial move), or null if either is not placed. */
export function segment(layout: Layout, from: string, to: string): string | null {
  const a = at(layout, from);
  const b = at(layout, to);
  const ka = kindOf(layout, from);
  const kb = kindOf(layout, to);
  if (!a || !b || !ka || !kb) return null;
  if (ka === "peer" && kb === "peer") return directSegment(layout, from, to, a, b);
  if (ka === "relay" && kb === "relay") {
    if (layout.kind === "ring") return `L ${pt(b)}`;
    // Out of the box's left edge, an arc through the margin, into the other box.
    const edge = COLUMN.gutter;
    const rows = Math.abs(b.y - a.y) / (COLUMN.boxHeight + COLUMN.firstRow);
    const bow = Math.min(COLUMN.gutter - 4, 10 + 7 * rows) * 1.33;
    return `L ${f(edge)} ${f(a.y)} C ${f(edge - bow)} ${f(a.y)} ${f(edge - bow)} ${f(b.y)} ${f(edge)} ${f(b.y)} L ${pt(b)}`;
  }
  if (layout.kind === "ring") return `L ${pt(b)}`;
  // Column: an attachment runs down the spine under its relay, then across to the peer.
  const relay = ka === "relay" ? a : b;
  const peer = ka === "relay" ? b : a;
  const spine = peer.x - 14;
  const points = [
    { x: spine, y: relay.y },
    { x: spine, y: peer.y },
    { x: peer.x, y: peer.y },
  ];
  const ordered = ka === "relay" ? points : [{ x: spine, y: peer.y }, { x: spine, y: relay.y }, relay];
  return ordered.map((p) => `L ${pt(p)}`).join(" ");
}

function directSegment(layout: Layout, from: string, to: string, a: Point, b: Point): string {
  if (layout.kind === "column") {
    const right = layout.viewBox.x + layout.viewBox.width - 8;
    return `L ${f(right)} ${f(a.y)} L ${f(right)} ${f(b.y)} L ${pt(b)}`;
  }
  const a1 = layout.angles.get(from) ?? 0;
  const a2 = layout.angles.get(to) ?? 0;
  let delta = a2 - a1;
  while (delta > Math.PI) delta -= 2 * Math.PI;
  while (delta <= -Math.PI) delta += 2 * Math.PI;
  const start = onRing(a1, layout.track);
  const end = onRing(a2, layout.track);
  const radii = `${f(layout.track * (start.x === 0 && end.x === 0 ? 1 : stretchOf(layout)))} ${f(layout.track)}`;
  return `L ${pt(start)} A ${radii} 0 0 ${delta > 0 ? 1 : 0} ${pt(end)} L ${pt(b)}`;
}

function stretchOf(layout: Layout): number {
  const probe = onRing(0, layout.track);
  return probe.x / layout.track;
}

/** The path of a drawn link. */
export function edgePath(layout: Layout, edge: Edge): string | null {
  const start = at(layout, edge.from);
  const rest = segment(layout, edge.from, edge.to);
  return start && rest ? `M ${pt(start)} ${rest}` : null;
}

/** The path of a journey through `hops` (node keys and peer ids), or null if a hop is not placed. */
export function journeyPath(layout: Layout, hops: readonly string[]): string | null {
  const start = hops[0] === undefined ? null : at(layout, hops[0]);
  if (!start) return null;
  const parts = [`M ${pt(start)}`];
  for (let i = 1; i < hops.length; i++) {
    const part = segment(layout, hops[i - 1]!, hops[i]!);
    if (part === null) return null;
    parts.push(part);
  }
  return parts.join(" ");
}
