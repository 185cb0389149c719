// Turns the rounds of each measurement into the printed figures: a median over rounds for throughput,
// one pool of all samples for latency percentiles, and notes on anything a reader must not miss.

import { fmt, table } from "./lib/report.ts";
import { summarize } from "./lib/stats.ts";
import type { LatencySummary } from "./lib/stats.ts";
import { STATUS_POLL_MS } from "./lib/servers.ts";
import type { Route } from "./lib/servers.ts";
import type { System } from "./protocol.ts";
import type { PubSubResult } from "./scenarios/pubsub.ts";
import type { RequestReplyResult } from "./scenarios/request-reply.ts";

export const NAMES: Record<System, string> = { iris: "iris-mesh", iris3: "iris-mesh, 3 relays", nats: "NATS" };

/** Every round of one measurement for one system; a failed round is kept as its error. */
export interface Rounds<T> {
  done: T[];
  failed: Error[];
}

export function rounds<T>(): Rounds<T> {
  return { done: [], failed: [] };
}

export type Measurements = {
  pubsub: Map<System, Rounds<PubSubResult>>;
  requestReply: Map<System, Rounds<RequestReplyResult>>;
};

interface PubSubFigures {
  receivedPerSecond: number;
  publishedPerSecond: number;
}

interface RequestReplyFigures {
  latency: LatencySummary;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function pubsubFigures(runs: Rounds<PubSubResult> | undefined): PubSubFigures | null {
  if (!runs?.done.length) return null;
  return {
    receivedPerSecond: median(runs.done.map((run) => run.receivedPerSecond)),
    publishedPerSecond: median(runs.done.map((run) => run.publishedPerSecond)),
  };
}

function requestReplyFigures(runs: Rounds<RequestReplyResult> | undefined): RequestReplyFigures | null {
  if (!runs?.done.length) return null;
  return { latency: summarize(runs.done.flatMap((run) => run.samplesUs)) };
}

interface Figures {
  pubsub: PubSubFigures | null;
  requestReply: RequestReplyFigures | null;
}

interface Metric {
  label: string;
  value(figures: Figures): number;
  show(value: number): string;
}

const METRICS: Metric[] = [
  { label: "pub/sub 1 KiB, msg/s received", value: (f) => f.pubsub?.receivedPerSecond ?? NaN, show: fmt.int },
  {
    label: "pub/sub 1 KiB, payload MB/s received",
    value: (f) => ((f.pubsub?.receivedPerSecond ?? NaN) * 1024) / 1e6,
    show: (n) => fmt.fixed(n),
  },
  { label: "pub/sub 1 KiB, msg/s published", value: (f) => f.pubsub?.publishedPerSecond ?? NaN, show: fmt.int },
  { label: "req/rep 1 KiB, p50 latency (us)", value: (f) => f.requestReply?.latency.p50Us ?? NaN, show: fmt.int },
  { label: "req/rep 1 KiB, p99 latency (us)", value: (f) => f.requestReply?.latency.p99Us ?? NaN, show: fmt.int },
  { label: "req/rep 1 KiB, mean latency (us)", value: (f) => f.requestReply?.latency.meanUs ?? NaN, show: fmt.int },
  {
    label: "req/rep 1 KiB, sequential req/s",
    value: (f) => 1e6 / (f.requestReply?.latency.meanUs ?? NaN),
    show: fmt.int,
  },
];

function figuresOf(measurements: Measurements, system: System): Figures {
  return {
    pubsub: pubsubFigures(measurements.pubsub.get(system)),
    requestReply: requestReplyFigures(measurements.requestReply.get(system)),
  };
}

/** One column per system measured, then each iris-mesh system's ratio to NATS when NATS was measured. */
export function resultsTable(measurements: Measurements, systems: System[]): string {
  const figures = new Map(systems.map((system) => [system, figuresOf(measurements, system)]));
  const ratios = systems.includes("nats") ? systems.filter((system) => system !== "nats") : [];
  const ratioHeader: Record<System, string> = { iris: "iris-mesh / NATS", iris3: "3 relays / NATS", nats: "" };
  const rows = METRICS.map((metric) => {
    const value = (system: System) => metric.value(figures.get(system)!);
    const isPubSub = metric.label.startsWith("pub/sub");
    const cell = (system: System) => {
      const found = figures.get(system)!;
      if (isPubSub ? found.pubsub : found.requestReply) return metric.show(value(system));
      return "failed";
    };
    return [metric.label, ...systems.map(cell), ...ratios.map((system) => fmt.ratio(value(system), value("nats")))];
  });
  return table(
    ["metric", ...systems.map((system) => NAMES[system]), ...ratios.map((system) => ratioHeader[system])],
    rows,
  );
}

/** The three-relay figures against the one-relay ones, metric by metric; empty unless both ran. */
export function backboneRatios(measurements: Measurements): string[] {
  if (!measurements.pubsub.has("iris") || !measurements.pubsub.has("iris3")) return [];
  const one = figuresOf(measurements, "iris");
  const three = figuresOf(measurements, "iris3");
  const width = Math.max(...METRICS.map((metric) => metric.label.length));
  return METRICS.map(
    (metric) => `${metric.label.padEnd(width)}  ${fmt.ratio(metric.value(three), metric.value(one)).padStart(6)}`,
  );
}

/** Everything a reader should know beyond the table: spread, losses, reordering, failures, warnings. */
export function notes(measurements: Measurements): string[] {
  const out: string[] = [];
  for (const [system, runs] of measurements.pubsub) {
    const name = NAMES[system];
    for (const error of runs.failed) out.push(`pub/sub ${name}: a round FAILED: ${error.message}`);
    if (!runs.done.length) continue;
    const rates = runs.done.map((run) => fmt.int(run.receivedPerSecond) + routeTag(run.route)).join(", ");
    const plan = runs.done[0]!.plan;
    let sent = 0;
    let received = 0;
    let warmupLost = 0;
    let outOfOrder = 0;
    let wrongSize = 0;
    for (const run of runs.done) {
      sent += run.plan.count;
      received += run.report.received;
      warmupLost += run.plan.warmup - run.report.warmupReceived;
      outOfOrder += run.report.outOfOrder;
      wrongSize += run.report.wrongSize;
    }
    const lost = sent - received;
    out.push(
      `pub/sub ${name}: msg/s received per round ${rates} (median in the table); ` +
        `${runs.done.length} x (${fmt.int(plan.warmup)} warm-up + ${fmt.int(plan.count)} measured) sent, ` +
        `${fmt.int(received)}/${fmt.int(sent)} measured received` +
        (lost > 0 || warmupLost > 0
          ? ` (LOST ${fmt.int(lost)} measured, ${fmt.int(warmupLost)} warm-up)`
          : " (no loss)") +
        (outOfOrder ? `, ${fmt.int(outOfOrder)} out of order` : "") +
        (wrongSize ? `, ${fmt.int(wrongSize)} of the wrong size` : ""),
    );
    out.push(...deliveryNotes(name, runs.done));
    for (const warning of unique(runs.done.flatMap((run) => run.serverWarnings)).slice(0, 5)) {
      out.push(`pub/sub ${name}, the server logged: ${warning}`);
    }
  }
  for (const [system, runs] of measurements.requestReply) {
    const name = NAMES[system];
    for (const error of runs.failed) out.push(`req/rep ${name}: a round FAILED: ${error.message}`);
    if (!runs.done.length) continue;
    const pooled = summarize(runs.done.flatMap((run) => run.samplesUs));
    const p50s = runs.done.map((run) => fmt.int(summarize(run.samplesUs).p50Us) + routeTag(run.route)).join(", ");
    const p99s = runs.done.map((run) => fmt.int(summarize(run.samplesUs).p99Us)).join(", ");
    const failures = runs.done.reduce((sum, run) => sum + run.failures, 0);
    const firstFailure = runs.done.find((run) => run.firstFailure)?.firstFailure;
    out.push(
      `req/rep ${name}: ${fmt.int(pooled.count)} samples pooled from ${runs.done.length} rounds; ` +
        `p50 per round ${p50s} us; p99 per round ${p99s} us; min ${fmt.int(pooled.minUs)} us, max ${fmt.int(pooled.maxUs)} us` +
        (failures ? `; ${fmt.int(failures)} requests FAILED, first: ${firstFailure}` : "; no failed requests"),
    );
    for (const warning of unique(runs.done.flatMap((run) => run.serverWarnings)).slice(0, 5)) {
      out.push(`req/rep ${name}, the server logged: ${warning}`);
    }
  }
  const backends = unique(
    [...measurements.pubsub.entries(), ...measurements.requestReply.entries()]
      .filter(([system]) => system !== "nats")
      .flatMap(([, runs]) => runs.done.flatMap((run: { secretbox: string[] }) => run.secretbox)),
  );
  if (backends.length) out.push(`iris-mesh role processes sealed with secretbox backend: ${backends.join(", ")}`);
  const routes = [...measurements.pubsub.values(), ...measurements.requestReply.values()].flatMap((runs) =>
    runs.done.flatMap((run: { route: Route | null }) => (run.route ? [run.route] : [])),
  );
  if (routes.length) {
    const twoLinks = routes.filter((route) => route.relayHops >= 2).length;
    const slowest = Math.max(...routes.map((route) => route.settledMs));
    const meshed = routes.map((route) => route.meshedMs);
    out.push(
      `iris-mesh, 3 relays: ${twoLinks} of ${routes.length} rounds had their rendezvous on relay B (A -> B -> C, 2 relay links ` +
        `each way), the others 1 link; the rendezvous is the relay whose id is closest to the service id, and relays get new ids ` +
        `every round. C's subscriber or member was counted at the rendezvous at most ${fmt.int(slowest)} ms after C confirmed ` +
        `the join (status polled every ${STATUS_POLL_MS} ms). Every relay was linked to both others ${fmt.int(Math.min(...meshed))} ` +
        `to ${fmt.int(Math.max(...meshed))} ms after B and C were listening.`,
    );
  }
  return out;
}

/**
 * Where messages went missing or out of order, as the subscriber saw it: in gaps at its first message
 * after its own connection to the server dropped (a slow-consumer disconnect, for example), in gaps with
 * no such drop (lost upstream: in the server, or between relays), or at the end; and whether the
 * publisher's connection dropped, or messages overtook each other. Empty when all went well.
 */
function deliveryNotes(name: string, runs: PubSubResult[]): string[] {
  const sum = (pick: (run: PubSubResult) => number) => runs.reduce((total, run) => total + pick(run), 0);
  const expected = sum((run) => run.plan.warmup + run.plan.count);
  const distinct = sum((run) => run.report.received + run.report.warmupReceived - run.report.duplicates);
  const lost = expected - distinct;
  const missing = sum((run) => run.report.missing);
  const afterDrop = sum((run) => run.report.missingAfterDrop);
  const late = sum((run) => run.report.late);
  const duplicates = sum((run) => run.report.duplicates);
  const publisherDrops = sum((run) => run.publisherDrops);
  const out: string[] = [];
  if (lost > 0) {
    const drops = sum((run) => run.report.drops);
    const reasons = unique(runs.flatMap((run) => run.report.dropReasons));
    const parts: string[] = [];
    if (afterDrop > 0) {
      parts.push(
        `${fmt.int(afterDrop)} in ${count(
          sum((run) => run.report.gapsAfterDrop),
          "gap",
        )} at the subscriber's first message after its ` +
          `connection dropped (${count(drops, "drop")}${reasons.length ? `: ${reasons.join("; ")}` : ""})`,
      );
    }
    if (missing - afterDrop > 0) {
      parts.push(
        `${fmt.int(missing - afterDrop)} in ${count(
          sum((run) => run.report.gaps - run.report.gapsAfterDrop),
          "gap",
        )} with no drop of ` + `the subscriber's connection before them (lost upstream of the subscriber's own link)`,
      );
    }
    if (lost - missing > 0) parts.push(`${fmt.int(lost - missing)} at the end, after the last message that arrived`);
    out.push(
      `pub/sub ${name}, where the ${fmt.int(lost)} lost messages (warm-up included) went missing: ${parts.join("; ")}`,
    );
  }
  const stalls = runs.map((run) => run.publisherLongestStallMs);
  if (Math.max(...stalls) >= STALL_WORTH_NOTING_MS) {
    out.push(
      `pub/sub ${name}: the publisher's event loop went up to ${stalls.map((ms) => fmt.int(ms)).join(", ")} ms (per round) without a ` +
        `turn while publishing: its awaited publish() calls resolved at once, so nothing else ran in that process ` +
        `(no timers, no reads, no heartbeat answered)`,
    );
  }
  if (publisherDrops > 0) {
    const reasons = unique(runs.flatMap((run) => run.publisherDropReasons));
    out.push(
      `pub/sub ${name}: the publisher's connection dropped ${count(publisherDrops, "time")} while or right after publishing (${reasons.join("; ")})`,
    );
  }
  if (late > 0 || duplicates > 0) {
    out.push(
      `pub/sub ${name}: ${fmt.int(late)} messages arrived after a higher sequence number from the same publisher ` +
        `(overtaken), ${fmt.int(duplicates)} arrived twice`,
    );
  }
  if (out.length) {
    // The first round where something went wrong, step by step.
    const index = runs.findIndex(
      (run) => run.report.drops || run.report.gaps || run.report.late || run.report.duplicates || run.publisherDrops,
    );
    const run = runs[index];
    if (run?.report.events.length) {
      out.push(
        `pub/sub ${name}, round ${index + 1} of those completed, as the subscriber saw it${run.route ? ` (${run.route.path})` : ""}: ${run.report.events.join("; ")}`,
      );
    }
  }
  return out;
}

/** An event loop without a turn for this long misses a relay heartbeat (1 s by default). */
const STALL_WORTH_NOTING_MS = 1000;

/** "1 gap", "2 gaps". */
function count(n: number, noun: string): string {
  return `${fmt.int(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** " (A -> B -> C)" for a backbone round, nothing otherwise. */
function routeTag(route: Route | null): string {
  return route ? ` (${route.path})` : "";
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
