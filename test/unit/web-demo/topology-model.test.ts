// The dashboard's reading of relay reports (web-demo/app/topology/model.ts and stale-peers.ts), the
// latency percentile its charts plot (metrics.ts), and the stack's settings (stack-settings.ts): pure
// functions, checked on hand-made inputs.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Metrics, percentile } from "../../../web-demo/app/metrics.ts";
import { buildTopology, peerLabel } from "../../../web-demo/app/topology/model.ts";
import type { ControlStatus, TopologyInput } from "../../../web-demo/app/topology/model.ts";
import { LEFT_MS, StalePeers } from "../../../web-demo/app/topology/stale-peers.ts";
import { SettingsError, stackSettings } from "../../../web-demo/stack-settings.ts";
import { A1, A2, A3, R1, R2, R3, link, peer, report } from "../../fixtures/dashboard/reports.ts";

function input(fields: Partial<TopologyInput>): TopologyInput {
  return {
    ownRelay: R1,
    reports: new Map(),
    addresses: new Map(),
    stackRelays: [],
    control: null,
    selfPeer: "a1",
    directPeers: [],
    ...fields,
  };
}

const control = (url: string, name: string, state: ControlStatus["state"], relayId: string | null = null) => ({
  url,
  name,
  state,
  pid: state === "down" ? null : 1234,
  relayId,
  lastExit: state === "down" ? "killed (SIGKILL)" : null,
  since: 0,
});

describe("topology model", () => {
  test("one relay link per pair however many ends report it; one attachment per peer; services by id", () => {
    const topology = buildTopology(
      input({
        reports: new Map([
          [
            R1,
            report(R1, {
              links: [link(R2), link(R3)],
              peers: [peer("a1", "dashboard tab", ["c1"], ["t1"]), peer("n1", "node echo-member-1", ["c1"])],
            }),
          ],
          [R2, report(R2, { links: [link(R1)], peers: [peer("b2", "dashboard tab", ["c1"])] })],
          [R3, null],
        ]),
        addresses: new Map([[R3, A3]]),
        directPeers: ["b2"],
      }),
    );
    assert.deepEqual(
      topology.relays.map((r) => [r.key, r.id, r.condition, r.own]),
      [
        [A1, R1, "up", true],
        [A2, R2, "up", false],
        [A3, R3, "not answering", false],
      ],
    );
    const kinds = (kind: string) =>
      topology.edges
        .filter((e) => e.kind === kind)
        .map((e) => `${e.from}-${e.to}`)
        .sort();
    assert.deepEqual(kinds("relay"), [`${A1}-${A2}`, `${A1}-${A3}`]);
    assert.deepEqual(kinds("attach"), [`a1-${A1}`, `b2-${A2}`, `n1-${A1}`]);
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

  test("a relay is its address: a restarted relay (new id, same address) is one box, its old id gone", () => {
    const topology = buildTopology(
      input({
        // R2's old id is still in a directory and does not answer; R3 answers at the same address.
        reports: new Map([
          [R1, report(R1, { links: [link(R3, A2)] })],
          [R2, null],
          [R3, report(R3, { address: A2, links: [link(R1)] })],
        ]),
        addresses: new Map([
          [R2, A2],
          [R3, A2],
        ]),
        stackRelays: [A1, A2],
      }),
    );
    assert.deepEqual(
      topology.relays.map((r) => [r.name, r.key, r.id, r.condition]),
      [
        ["relay 1", A1, R1, "up"],
        ["relay 2", A2, R3, "up"],
      ],
    );
    assert.deepEqual(
      topology.edges.filter((e) => e.kind === "relay").map((e) => [e.from, e.to]),
      [[A1, A2]],
    );
  });

  test("the stack's relays keep their places and names; one that is down says so even if nobody mentions it", () => {
    const topology = buildTopology(
      input({
        reports: new Map([
          [R1, report(R1)],
          [R3, report(R3)],
        ]),
        stackRelays: [A1, A2, A3],
        control: [
          control(A1, "relay 1", "up", R1),
          control(A2, "relay 2", "down", R2),
          control(A3, "relay 3", "draining", R3),
        ],
      }),
    );
    assert.deepEqual(
      topology.relays.map((r) => [r.name, r.condition, r.process?.lastExit ?? null]),
      [
        ["relay 1", "up", null],
        ["relay 2", "down", "killed (SIGKILL)"],
        ["relay 3", "draining", null],
      ],
    );
  });

  test("old reports (the tab cannot ask) leave a relay's state unknown, unless its process says", () => {
    const topology = buildTopology(
      input({
        reports: new Map([
          [R1, report(R1)],
          [R2, report(R2)],
        ]),
        stackRelays: [A1, A2],
        control: [control(A2, "relay 2", "up", R2)],
        current: false,
      }),
    );
    assert.deepEqual(
      topology.relays.map((r) => r.condition),
      ["unknown", "up"],
    );
  });

  test("a report from before its process went away is not believed", () => {
    const topology = buildTopology(
      input({
        reports: new Map([[R2, report(R2, { peers: [peer("p", "node x")] })]]),
        stackRelays: [A2],
        control: [control(A2, "relay 2", "down", R2)],
      }),
    );
    assert.equal(topology.relays[0]?.condition, "down");
    assert.equal(topology.peers.length, 0);
  });

  test("a direct link to a peer no relay reports is not drawn, nor is one before core can say", () => {
    const reports = new Map([[R1, report(R1, { peers: [peer("a1", "dashboard tab")] })]]);
    const gone = buildTopology(input({ reports, directPeers: ["zz"] }));
    assert.equal(gone.edges.filter((e) => e.kind === "direct").length, 0);
    const unknown = buildTopology(input({ reports, directPeers: null }));
    assert.equal(unknown.edges.filter((e) => e.kind === "direct").length, 0);
  });

  test("a peer seen at two relays during a failover is drawn once, at this tab's relay", () => {
    const topology = buildTopology(
      input({
        reports: new Map([
          [R2, report(R2, { peers: [peer("p", "node x")] })],
          [R1, report(R1, { peers: [peer("p", "node x")] })],
        ]),
      }),
    );
    assert.deepEqual(
      topology.peers.map((p) => [p.id, p.relay]),
      [["p", A1]],
    );
  });

  test("peer labels: tabs by id, Node peers by their agent, never the same word twice", () => {
    assert.equal(peerLabel({ id: "abcdef0123", agent: "dashboard tab" }), "tab abcdef");
    assert.equal(peerLabel({ id: "abcdef0123", agent: "node echo-member-2" }), "echo-member-2");
    assert.equal(peerLabel({ id: "abcdef0123", agent: "browser" }), "browser abcdef");
  });
});

describe("stale peers", () => {
  const at = (peers: ReturnType<typeof peer>[], relayUp: boolean) =>
    buildTopology(
      input({
        reports: new Map([[R1, relayUp ? report(R1, { peers }) : null]]),
        addresses: new Map([[R1, A1]]),
        stackRelays: [A1],
      }),
    );

  test("a peer of a relay that died is 'moving'; one that left a live relay is 'left', then goes", () => {
    const stale = new StalePeers();
    stale.apply(at([peer("n1", "node x"), peer("n2", "node y")], true), 0);
    const dead = stale.apply(at([], false), 1000);
    assert.deepEqual(
      dead.peers.map((p) => [p.id, p.stale?.why]),
      [
        ["n1", "moving"],
        ["n2", "moving"],
      ],
    );

    const other = new StalePeers();
    other.apply(at([peer("n1", "node x"), peer("n2", "node y")], true), 0);
    const left = other.apply(at([peer("n1", "node x")], true), 1000);
    assert.deepEqual(
      left.peers.map((p) => [p.id, p.stale?.why ?? null]),
      [
        ["n1", null],
        ["n2", "left"],
      ],
    );
    const later = other.apply(at([peer("n1", "node x")], true), 1000 + LEFT_MS + 1);
    assert.deepEqual(
      later.peers.map((p) => p.id),
      ["n1"],
    );
  });

  test("a peer that shows up again is live at once", () => {
    const stale = new StalePeers();
    stale.apply(at([peer("n1", "node x")], true), 0);
    stale.apply(at([], true), 500);
    const back = stale.apply(at([peer("n1", "node x")], true), 900);
    assert.deepEqual(
      back.peers.map((p) => [p.id, p.stale]),
      [["n1", null]],
    );
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

  test("each roll closes a one-second window and keeps a minute of them; clusters line up", () => {
    const metrics = new Metrics();
    metrics.count("sent", 3, "echo");
    metrics.latency(2);
    metrics.latency(4);
    metrics.roll(10_000);
    metrics.count("sent", 2, "files");
    metrics.roll(11_000);
    assert.deepEqual(metrics.columns.time, [10, 11]);
    assert.deepEqual(metrics.columns.rates.sent, [3, 2]);
    assert.deepEqual(metrics.columns.byCluster.get("echo"), [3, 0]);
    assert.deepEqual(metrics.columns.byCluster.get("files"), [0, 2]);
    assert.deepEqual(metrics.columns.p50, [2, null]);
    for (let i = 0; i < 100; i++) metrics.roll(12_000 + i * 1000);
    assert.equal(metrics.columns.time.length, 60);
    assert.equal(metrics.columns.byCluster.get("echo")?.length, 60);
  });
});

describe("stack settings", () => {
  test("local defaults: three relays from 7600, the dashboard on 7680, controls on, relay logs from warn", () => {
    const settings = stackSettings({});
    assert.deepEqual(settings.relayPorts, [7600, 7601, 7602]);
    assert.equal(settings.dashboardPort, 7680);
    assert.equal(settings.host, "127.0.0.1");
    assert.equal(settings.candidates, null);
    assert.equal(settings.controls, true);
    assert.equal(settings.relayLogs, "warn");
  });

  test("IRIS_PORT=0 picks free ports for everything; others follow the base", () => {
    assert.deepEqual(stackSettings({ IRIS_PORT: "0" }), {
      host: "127.0.0.1",
      relayPorts: [0, 0, 0],
      dashboardPort: 0,
      candidates: null,
      tour: true,
      controls: true,
      relayLogs: "warn",
    });
    const moved = stackSettings({
      IRIS_PORT: "7700",
      IRIS_RELAYS: "5",
      IRIS_DASHBOARD_CANDIDATES: "127.0.0.1, ::1",
      IRIS_CONTROLS: "0",
      IRIS_LOG_LEVEL: "debug",
    });
    assert.deepEqual(moved.relayPorts, [7700, 7701, 7702, 7703, 7704]);
    assert.equal(moved.dashboardPort, 7780);
    assert.deepEqual(moved.candidates, ["127.0.0.1", "::1"]);
    assert.equal(moved.controls, false);
    assert.equal(moved.relayLogs, "debug");
  });

  test("nonsense is refused with the variable's name", () => {
    assert.throws(() => stackSettings({ IRIS_PORT: "http" }), SettingsError);
    assert.throws(() => stackSettings({ IRIS_RELAYS: "0" }), /IRIS_RELAYS/);
    assert.throws(() => stackSettings({ IRIS_PORT: "65535" }), /no room for 3 relays/);
    assert.throws(() => stackSettings({ IRIS_DASHBOARD_PORT: "7601" }), /a relay's port/);
    assert.throws(() => stackSettings({ IRIS_LOG_LEVEL: "loud" }), /IRIS_LOG_LEVEL/);
  });
});
