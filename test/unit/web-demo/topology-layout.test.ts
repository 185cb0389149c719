// Where the topology puts things (web-demo/app/topology/layout.ts, labels.ts, paths.ts): positions
// that hold still as peers come and go, labels that overlap nothing, and links that keep clear of
// relays. Checked on hand-made topologies at a desktop's and a phone's width.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { overlaps } from "../../../web-demo/app/topology/labels.ts";
import type { Box } from "../../../web-demo/app/topology/labels.ts";
import { StableLayout, onRing } from "../../../web-demo/app/topology/layout.ts";
import type { Layout } from "../../../web-demo/app/topology/layout.ts";
import { buildTopology } from "../../../web-demo/app/topology/model.ts";
import type { Topology } from "../../../web-demo/app/topology/model.ts";
import { edgePath } from "../../../web-demo/app/topology/paths.ts";
import { A1, A2, A3, R1, R2, R3, link, peer, report } from "../../fixtures/dashboard/reports.ts";

const DESKTOP = 800;
const PHONE = 360;

/** Three linked relays; `peers[i]` are the agents attached to relay i+1 (ids are derived from them). */
function mesh(peers: string[][]): Topology {
  const ids = [R1, R2, R3];
  const reports = new Map(
    ids.map((id, i) => [
      id,
      report(id, {
        links: ids.filter((other) => other !== id).map((other) => link(other)),
        peers: (peers[i] ?? []).map((agent) => peer(`p-${agent}`, agent, ["c1"], [])),
      }),
    ]),
  );
  return buildTopology({
    ownRelay: R1,
    reports,
    addresses: new Map(),
    stackRelays: [A1, A2, A3],
    control: null,
    selfPeer: "p-dashboard tab",
    directPeers: [],
  });
}

const CROWD = [
  ["dashboard tab", "node echo-member-1", "node files", "node ticker", "dashboard tab 2"],
  ["node echo-member-2", "dashboard tab 3", "node a-rather-long-agent-name"],
  ["node echo-member-3", "node x", "node y", "node z", "node w", "node v", "node u", "node t"],
];

function boxes(layout: Layout): { labels: Box[]; relays: Box[]; dots: Box[] } {
  const { halfWidth, halfHeight } = layout.relayBox;
  return {
    labels: [...layout.labels.values()].map((label) => label.box),
    relays: [...layout.relays.values()].map((p) => ({
      x: p.x - halfWidth,
      y: p.y - halfHeight,
      width: 2 * halfWidth,
      height: 2 * halfHeight,
    })),
    dots: [...layout.peers.values()].map((p) => ({ x: p.x - 8, y: p.y - 8, width: 16, height: 16 })),
  };
}

function describeLines(peerNode: { agent: string }): string[] {
  return [peerNode.agent, "echo · #ticks"];
}

for (const [name, width] of [
  ["desktop (ring)", DESKTOP],
  ["phone (column)", PHONE],
] as const) {
  describe(`layout at a ${name} width`, () => {
    test("no label overlaps another label, a relay or a dot", () => {
      const layout = new StableLayout().place(mesh(CROWD), width, describeLines);
      const { labels, relays, dots } = boxes(layout);
      for (const [i, a] of labels.entries()) {
        for (const [j, b] of labels.entries()) if (i < j) assert.ok(!overlaps(a, b), `labels ${i} and ${j} overlap`);
        for (const relay of relays) assert.ok(!overlaps(a, relay), `label ${i} covers a relay`);
        dots.forEach((dot, j) => {
          // A label sits beside its own dot, never over another's.
          if (j !== i) assert.ok(!overlaps(a, dot), `label ${i} covers dot ${j}`);
        });
      }
      for (const [i, a] of relays.entries()) {
        for (const [j, b] of relays.entries()) if (i < j) assert.ok(!overlaps(a, b), `relays ${i} and ${j} overlap`);
      }
    });

    test("everything drawn is inside the view box", () => {
      const layout = new StableLayout().place(mesh(CROWD), width, describeLines);
      const { x, y, width: w, height: h } = layout.viewBox;
      const { labels, relays, dots } = boxes(layout);
      for (const box of [...labels, ...relays, ...dots]) {
        assert.ok(box.x >= x - 0.5 && box.y >= y - 0.5, `box at ${box.x},${box.y} before the view box`);
        assert.ok(
          box.x + box.width <= x + w + 0.5 && box.y + box.height <= y + h + 0.5,
          `box at ${box.x},${box.y} past the view box`,
        );
      }
    });

    test("a peer joining or leaving moves nobody else", () => {
      const layout = new StableLayout();
      const before = layout.place(mesh([["node a", "node b", "node c"], ["node d"], []]), width);
      const grown = layout.place(
        mesh([["node a", "node b", "node c", "node e"], ["node d", "node f"], ["node g"]]),
        width,
      );
      const shrunk = layout.place(mesh([["node a", "node c", "node e"], ["node d", "node f"], ["node g"]]), width);
      // In a column, a relay that needs a row it never needed before pushes the relays below it down,
      // all together; nothing above it moves, and nothing moves when a peer leaves.
      const shift = grown.kind === "column" ? grown.relays.get(A2)!.y - before.relays.get(A2)!.y : 0;
      for (const id of ["p-node a", "p-node b", "p-node c"])
        assert.deepEqual(grown.peers.get(id), before.peers.get(id), id);
      assert.deepEqual(grown.peers.get("p-node d"), {
        ...before.peers.get("p-node d")!,
        y: before.peers.get("p-node d")!.y + shift,
      });
      for (const id of ["p-node a", "p-node c", "p-node e", "p-node d", "p-node f", "p-node g"]) {
        assert.deepEqual(shrunk.peers.get(id), grown.peers.get(id), id);
      }
      // A newcomer takes the freed slot rather than pushing anyone along.
      const refilled = layout.place(
        mesh([["node a", "node h", "node c", "node e"], ["node d", "node f"], ["node g"]]),
        width,
      );
      assert.deepEqual(refilled.peers.get("p-node h"), before.peers.get("p-node b"));
    });
  });
}

describe("links", () => {
  test("a direct link between tabs of different relays stays on the track between the rings, clear of relays", () => {
    const topology = mesh([["dashboard tab"], ["dashboard tab 3"], []]);
    topology.edges.push({ kind: "direct", from: "p-dashboard tab", to: "p-dashboard tab 3", draining: false });
    const layout = new StableLayout().place(topology, DESKTOP);
    const d = edgePath(layout, topology.edges.at(-1)!);
    assert.match(d ?? "", /^M .* L .* A .* L /, "in, along an arc, out");
    // Walk the track between the two peers' angles, the shorter way: no point of it is in a relay's box.
    const a1 = layout.angles.get("p-dashboard tab")!;
    let delta = layout.angles.get("p-dashboard tab 3")! - a1;
    while (delta > Math.PI) delta -= 2 * Math.PI;
    while (delta <= -Math.PI) delta += 2 * Math.PI;
    const { halfWidth, halfHeight } = layout.relayBox;
    for (let i = 0; i <= 50; i++) {
      const point = onRing(a1 + (delta * i) / 50, layout.track);
      for (const relay of layout.relays.values()) {
        const inside = Math.abs(point.x - relay.x) < halfWidth + 4 && Math.abs(point.y - relay.y) < halfHeight + 4;
        assert.ok(!inside, `the track passes through the relay at ${relay.x},${relay.y}`);
      }
    }
  });

  test("at a phone's width, relay links are arcs in the margin, left of every relay box", () => {
    const topology = mesh([["node a"], ["node b"], ["node c"]]);
    const layout = new StableLayout().place(topology, PHONE);
    assert.equal(layout.kind, "column");
    const left = Math.min(...[...layout.relays.values()].map((p) => p.x - layout.relayBox.halfWidth));
    for (const edge of topology.edges.filter((e) => e.kind === "relay")) {
      const d = edgePath(layout, edge)!;
      const xs = [...d.matchAll(/C (-?[\d.]+) /g)].map((m) => Number(m[1]));
      assert.ok(xs.length === 1 && xs[0]! < left, `the arc of ${edge.from}-${edge.to} bows into the margin`);
    }
  });
});
