// Where the topology's nodes go. Two layouts: a ring (relays on an ellipse, each relay's peers fanned
// out beyond it) for wide screens, and a column (relays down the left, their peers listed beside them)
// for phones, where a ring would shrink its labels past reading. Either way the view box is fitted to
// what was placed, so nothing is cut off and no space is wasted.

import type { PeerNode, Topology } from "./model.ts";

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  kind: "ring" | "column";
  places: Map<string, Point>;
  viewBox: { x: number; y: number; width: number; height: number };
}

/** Below this drawing width (CSS pixels) the column layout is used. */
export const COLUMN_BELOW = 640;

const RING = { x: 250, y: 150 };
const PEER_DISTANCE = 130;
const RING_STEP = 75;
const PEERS_PER_RING = 6;
/** Radians between neighbouring peers of one relay: room for their labels side by side. */
const PEER_STEP = 0.8;
const LABEL_ROOM = { x: 95, y: 40 };

const COLUMN = { relayX: 70, peerX: 190, row: 46, relayGap: 30, width: 440 };

export function layout(topology: Topology, drawingWidth: number): Layout {
  return drawingWidth < COLUMN_BELOW ? columnLayout(topology) : ringLayout(topology);
}

function peersByRelay(topology: Topology): Map<string, PeerNode[]> {
  const byRelay = new Map<string, PeerNode[]>();
  for (const relay of topology.relays) byRelay.set(relay.id, []);
  for (const peer of topology.peers) byRelay.get(peer.relayId)?.push(peer);
  return byRelay;
}

function ringLayout(topology: Topology): Layout {
  const places = new Map<string, Point>();
  const count = topology.relays.length;
  const outward = new Map<string, number>();
  topology.relays.forEach((relay, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, count);
    outward.set(relay.id, angle);
    places.set(relay.id, count === 1 ? { x: 0, y: 0 } : { x: RING.x * Math.cos(angle), y: RING.y * Math.sin(angle) });
  });
  for (const [relayId, peers] of peersByRelay(topology)) {
    const origin = places.get(relayId)!;
    const facing = outward.get(relayId)!;
    peers.forEach((peer, i) => {
      const ring = Math.floor(i / PEERS_PER_RING);
      const inRing = Math.min(PEERS_PER_RING, peers.length - ring * PEERS_PER_RING);
      const slot = i % PEERS_PER_RING;
      // A lone relay has the whole circle; relays on the ring get a fan facing away from the centre.
      const span = count === 1 ? (2 * Math.PI * (inRing - 1)) / inRing : Math.min(2.8, PEER_STEP * (inRing - 1));
      const angle = facing + (inRing === 1 ? 0 : -span / 2 + (span * slot) / (inRing - 1)) + ring * 0.25;
      const distance = PEER_DISTANCE + ring * RING_STEP;
      // Wider than tall: labels are wide.
      places.set(peer.id, { x: origin.x + distance * 1.4 * Math.cos(angle), y: origin.y + distance * Math.sin(angle) });
    });
  }
  return { kind: "ring", places, viewBox: fit(places, LABEL_ROOM) };
}

function columnLayout(topology: Topology): Layout {
  const places = new Map<string, Point>();
  let y = 0;
  for (const [relayId, peers] of peersByRelay(topology)) {
    const rows = Math.max(1, peers.length);
    places.set(relayId, { x: COLUMN.relayX, y: y + ((rows - 1) * COLUMN.row) / 2 });
    for (const [i, peer] of peers.entries()) places.set(peer.id, { x: COLUMN.peerX, y: y + i * COLUMN.row });
    y += rows * COLUMN.row + COLUMN.relayGap;
  }
  const box = fit(places, { x: 0, y: 36 });
  return { kind: "column", places, viewBox: { x: 0, y: box.y, width: COLUMN.width, height: box.height } };
}

function fit(places: Map<string, Point>, room: Point): Layout["viewBox"] {
  if (places.size === 0) return { x: -200, y: -100, width: 400, height: 200 };
  const xs = [...places.values()].map((p) => p.x);
  const ys = [...places.values()].map((p) => p.y);
  const minX = Math.min(...xs) - room.x;
  const minY = Math.min(...ys) - room.y;
  return { x: minX, y: minY, width: Math.max(...xs) + room.x - minX, height: Math.max(...ys) + room.y - minY };
}

/**
 * An edge's path. In the column layout relays sit on one vertical line, so relay links bow out to the
 * left, more the further apart their ends are, instead of drawing over each other.
 */
export function edgePath(kind: Layout["kind"], edgeKind: string, from: Point, to: Point): string {
  if (kind === "column" && edgeKind === "relay") {
    const bow = Math.min(COLUMN.relayX - 8, 12 + Math.abs(to.y - from.y) / 6);
    return `M ${from.x} ${from.y} Q ${from.x - bow * 2} ${(from.y + to.y) / 2} ${to.x} ${to.y}`;
  }
  return `M ${from.x} ${from.y} L ${to.x} ${to.y}`;
}
