// The dashboard's reading of relay reports (web-demo/app/topology/model.ts), the latency percentile
// its charts plot (metrics.ts), and the stack's settings (stack-settings.ts): pure functions, checked
// on hand-made inputs.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { RelaySnapshot } from "../../../core/internal.ts";
import { Metrics, percentile } from "../../../web-demo/app/metrics.ts";
import { buildTopology, peerLabel } from "../../../web-demo/app/topology/model.ts";
import { SettingsError, stackSettings } from "../../../web-demo/stack-settings.ts";

const R1 = "11".repeat(16);
const R2 = "22".repeat(16);
const R3 = "33".repeat(16);

function report(relayId: string, fields: Partial<RelaySnapshot> = {}): RelaySnapshot {
  return {
    relayId,
    address: `ws://127.0.0.1:${relayId.slice(0, 2)}`,
    draining: false,
    links: [],
    directory: [],
    peers: [],
    trees: [],
    clusters: [],
    topics: [],
    pendingRequests: 0,
    parked: 0,
    tunnels: 0,
    ...fields,
  };
}

// A cast, not an annotation: core's link report grows fields (e.g. dropped frames) the model ignores.
const link = (relayId: string) =>
  ({ relayId, address: "x", direction: "out", draining: false, dropped: 0 }) as RelaySnapshot["links"][number];
const peer = (peerId: string, agent: string, clusters: string[] = [], topics: string[] = []) => ({
  peerId,
  agent,
  remote: "127.0.0.1",
  clusters,
  topics,
});

describe("topology model", () => {
  test("one relay link per pair however many ends report it; one attachment per peer; services by id", () => {
    const reports = new Map<string, RelaySnapshot | null>([
      [
        R1,
        report(R1, {
          links: [link(R2), link(R3)],
          peers: [peer("a1", "dashboard tab", ["c1"], ["t1"]), peer("n1", "node echo-member-1", ["c1"])],
        }),
      ],
      [R2, report(R2, { links: [link(R1)], peers: [peer("b2", "dashboard tab", ["c1"])] })],
      [R3, null],
    ]);
    const topology = buildTopology({
      ownRelay: R1,
      reports,
      addresses: new Map([[R3, "ws://three"]]),
      selfPeer: "a1",
      directPeers: ["b2"],
    });
    assert.deepEqual(
      topology.relays.map((r) => [r.id, r.reachable, r.own, r.address]),
      [
        [R1, true, true, "ws://127.0.0.1:11"],
        [R2, true, false, "ws://127.0.0.1:22"],
        [R3, false, false, "ws://three"],
      ],
    );
    const kinds = (kind: string) =>
      topology.edges
        .filter((e) => e.kind === kind)
        .map((e) => `${e.from}-${e.to}`)
        .sort();
    assert.deepEqual(kinds("relay"), [`${R1}-${R2}`, `${R1}-${R3}`]);
    assert.deepEqual(kinds("attach"), [`a1-${R1}`, `b2-${R2}`, `n1-${R1}`]);
    assert.deepEqual(kinds("direct"), ["a1-b2"]);
    assert.equal(topology.peers.find((p) => p.id === "a1")?.self, true);
    assert.deepEqual(
      topology.services.map((s) => [s.kind, s.id, s.peers.length]),
      [
        ["cluster", "c1", 3],
        ["topic", "t1", 1],
      ],
    );
  });

  test("a direct link to a peer no relay reports is not drawn, nor is one before core can say", () => {
    const reports = new Map<string, RelaySnapshot | null>([[R1, report(R1, { peers: [peer("a1", "dashboard tab")] })]]);
    const gone = buildTopology({ ownRelay: R1, reports, addresses: new Map(), selfPeer: "a1", directPeers: ["zz"] });
    assert.equal(gone.edges.filter((e) => e.kind === "direct").length, 0);
    const unknown = buildTopology({ ownRelay: R1, reports, addresses: new Map(), selfPeer: "a1", directPeers: null });
    assert.equal(unknown.edges.filter((e) => e.kind === "direct").length, 0);
  });

  test("a peer seen at two relays during a failover is drawn once, at this tab's relay", () => {
    const reports = new Map<string, RelaySnapshot | null>([
      [R2, report(R2, { peers: [peer("p", "node x")] })],
      [R1, report(R1, { peers: [peer("p", "node x")] })],
    ]);
    const topology = buildTopology({ ownRelay: R1, reports, addresses: new Map(), selfPeer: "a1", directPeers: [] });
    assert.deepEqual(
      topology.peers.map((p) => [p.id, p.relayId]),
      [["p", R1]],
    );
  });

  test("peer labels: tabs by id, Node peers by their agent", () => {
    assert.equal(peerLabel({ id: "abcdef0123", agent: "dashboard tab" }), "tab abcdef");
    assert.equal(peerLabel({ id: "abcdef0123", agent: "node echo-member-2" }), "echo-member-2");
    assert.equal(peerLabel({ id: "abcdef0123", agent: "browser" }), "browser abcdef");
  });
});

describe("chart metrics", () => {
  test("nearest-rank percentiles", () => {
    assert.equal(percentile([], 0.5), null);
    assert.equal(percentile([7], 0.99), 7);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(hundred, 0.5), 50);
    assert.equal(percentile(hundred, 0.9), 90);
    assert.equal(percentile(hundred, 0.99), 99);
  });

  test("each roll closes a one-second window and keeps a minute of them", () => {
    const metrics = new Metrics();
    metrics.count("sent", 3);
    metrics.latency(2);
    metrics.latency(4);
    metrics.roll(10_000);
    metrics.roll(11_000);
    assert.deepEqual(metrics.columns.time, [10, 11]);
    assert.deepEqual(metrics.columns.rates.sent, [3, 0]);
    assert.deepEqual(metrics.columns.p50, [2, null]);
    for (let i = 0; i < 100; i++) metrics.roll(12_000 + i * 1000);
    assert.equal(metrics.columns.time.length, 60);
  });
});

describe("stack settings", () => {
  test("local defaults: three relays from 7600, the dashboard on 7680", () => {
    const settings = stackSettings({});
    assert.deepEqual(settings.relayPorts, [7600, 7601, 7602]);
    assert.equal(settings.dashboardPort, 7680);
    assert.equal(settings.host, "127.0.0.1");
    assert.equal(settings.candidates, null);
  });

  test("IRIS_PORT=0 picks free ports for everything; others follow the base", () => {
    assert.deepEqual(stackSettings({ IRIS_PORT: "0" }), {
      host: "127.0.0.1",
      relayPorts: [0, 0, 0],
      dashboardPort: 0,
      candidates: null,
      tour: true,
    });
    const moved = stackSettings({ IRIS_PORT: "7700", IRIS_RELAYS: "5", IRIS_DASHBOARD_CANDIDATES: "127.0.0.1, ::1" });
    assert.deepEqual(moved.relayPorts, [7700, 7701, 7702, 7703, 7704]);
    assert.equal(moved.dashboardPort, 7780);
    assert.deepEqual(moved.candidates, ["127.0.0.1", "::1"]);
  });

  test("nonsense is refused with the variable's name", () => {
    assert.throws(() => stackSettings({ IRIS_PORT: "http" }), SettingsError);
    assert.throws(() => stackSettings({ IRIS_RELAYS: "0" }), /IRIS_RELAYS/);
    assert.throws(() => stackSettings({ IRIS_PORT: "65535" }), /no room for 3 relays/);
    assert.throws(() => stackSettings({ IRIS_DASHBOARD_PORT: "7601" }), /a relay's port/);
  });
});
