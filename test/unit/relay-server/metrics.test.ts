// The Prometheus exposition: every figure comes from the engine's report, read once per scrape, under
// stable names; counters follow the engine's totals, levels are what the report says now.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { RelayStatsReport } from "../../../core/wire/relay-report.ts";
import { RelayMetrics } from "../../../relay-server/metrics.ts";
import type { MetricsSource } from "../../../relay-server/metrics.ts";

function report(overrides: Partial<RelayStatsReport> = {}): RelayStatsReport {
  return {
    uptimeMs: 1000,
    peers: 3,
    relayLinks: 2,
    queuedBytes: 4096,
    tunnelsOpen: 1,
    pendingRequests: 5,
    pausedSenders: 2,
    pauses: 6,
    pausedMs: 1500,
    framesIn: 30,
    framesOut: 40,
    bytesIn: 3000,
    bytesOut: 4000,
    slowConsumerDrops: 7,
    slowConsumerDisconnects: 1,
    requestsPlaced: 11,
    requestsPlacedAgain: 2,
    refused: { "address-limit": 4, "network-key": 9 },
    byKind: {
      Request: { framesIn: 10, bytesIn: 1000, framesOut: 12, bytesOut: 1200 },
      Reply: { framesIn: 20, bytesIn: 2000, framesOut: 28, bytesOut: 2800 },
    },
    ...overrides,
  };
}

function source(reports: RelayStatsReport[]): MetricsSource & { asked: number } {
  const fake = {
    asked: 0,
    relayId: "ab".repeat(16),
    stats: () => reports[Math.min(fake.asked++, reports.length - 1)]!,
    ready: () => true,
    draining: () => false,
    suppressedLogLines: () => new Map([["address-limit", 80]]),
    certificateExpires: new Date("2027-01-01T00:00:00Z"),
  };
  return fake;
}

/** The value of one series in a Prometheus text exposition. */
function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no series ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

test("levels, traffic by direction and kind, requests, refusals and slow consumers, from one report", async () => {
  const fake = source([report()]);
  const metrics = new RelayMetrics(fake);
  const text = await metrics.render();
  assert.equal(fake.asked, 1, "one report per scrape, whatever the number of metrics");
  assert.equal(value(text, "iris_relay_peers"), 3);
  assert.equal(value(text, "iris_relay_relay_links"), 2);
  assert.equal(value(text, "iris_relay_queued_bytes"), 4096);
  assert.equal(value(text, "iris_relay_tunnels_open"), 1);
  assert.equal(value(text, "iris_relay_pending_requests"), 5);
  assert.equal(value(text, "iris_relay_paused_senders"), 2);
  assert.equal(value(text, "iris_relay_flow_pauses_total"), 6);
  assert.equal(value(text, "iris_relay_flow_paused_seconds_total"), 1.5);
  assert.equal(value(text, 'iris_relay_frames_total{direction="in",kind="Request"}'), 10);
  assert.equal(value(text, 'iris_relay_frames_total{direction="out",kind="Reply"}'), 28);
  assert.equal(value(text, 'iris_relay_frame_bytes_total{direction="out",kind="Request"}'), 1200);
  assert.equal(value(text, "iris_relay_requests_placed_total"), 11);
  assert.equal(value(text, "iris_relay_requests_placed_again_total"), 2);
  assert.equal(value(text, 'iris_relay_refused_total{reason="network-key"}'), 9);
  assert.equal(value(text, "iris_relay_slow_consumer_dropped_frames_total"), 7);
  assert.equal(value(text, "iris_relay_slow_consumer_disconnects_total"), 1);
  assert.equal(value(text, 'iris_relay_log_lines_suppressed_total{event="address-limit"}'), 80);
  assert.equal(value(text, `iris_relay_info{relay_id="${"ab".repeat(16)}"}`), 1);
  assert.equal(value(text, "iris_relay_ready"), 1);
  assert.equal(value(text, "iris_relay_draining"), 0);
  assert.equal(value(text, "iris_relay_tls_certificate_expiry_timestamp_seconds"), Date.UTC(2027, 0, 1) / 1000);
  assert.match(text, /^# TYPE iris_relay_frames_total counter$/m);
  assert.match(text, /^# TYPE iris_relay_peers gauge$/m);
  assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
});

test("the usual process metrics are there", async () => {
  const text = await new RelayMetrics(source([report()])).render();
  for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds"]) {
    assert.match(text, new RegExp(`^${name} `, "m"), name);
  }
});

test("counters follow the engine's totals from scrape to scrape; levels say what is now", async () => {
  const later = report({
    peers: 1,
    requestsPlaced: 50,
    byKind: { Request: { framesIn: 99, bytesIn: 9900, framesOut: 12, bytesOut: 1200 } },
  });
  const metrics = new RelayMetrics(source([report(), later]));
  await metrics.render();
  const text = await metrics.render();
  assert.equal(value(text, "iris_relay_requests_placed_total"), 50);
  assert.equal(value(text, 'iris_relay_frames_total{direction="in",kind="Request"}'), 99);
  assert.equal(value(text, "iris_relay_peers"), 1);
});
