// Turns the rounds of each measurement into the printed figures: a median over rounds for throughput,
// one pool of all samples for latency percentiles, and notes on anything a reader must not miss.

import { fmt, table } from "./lib/report.ts";
import { summarize } from "./lib/stats.ts";
import type { LatencySummary } from "./lib/stats.ts";
import type { System } from "./protocol.ts";
import type { PubSubResult } from "./scenarios/pubsub.ts";
import type { RequestReplyResult } from "./scenarios/request-reply.ts";

export const NAMES: Record<System, string> = { iris: "iris-mesh", nats: "NATS" };

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

export function resultsTable(measurements: Measurements, systems: System[]): string {
  const pubsub = new Map(systems.map((system) => [system, pubsubFigures(measurements.pubsub.get(system))]));
  const requestReply = new Map(systems.map((system) => [system, requestReplyFigures(measurements.requestReply.get(system))]));
  const row = <F>(metric: string, figures: Map<System, F | null>, pick: (f: F) => number, show: (n: number) => string) => {
    const value = (system: System) => {
      const found = figures.get(system);
      return found ? pick(found) : NaN;
    };
    const cell = (system: System) => (!figures.has(system) ? "not run" : figures.get(system) ? show(value(system)) : "failed");
    return [metric, cell("iris"), cell("nats"), fmt.ratio(value("iris"), value("nats"))];
  };
  return table(
    ["metric", "iris-mesh", "NATS", "ratio (iris/NATS)"],
    [
      row("pub/sub 1 KiB, msg/s received", pubsub, (f) => f.receivedPerSecond, fmt.int),
      row("pub/sub 1 KiB, payload MB/s received", pubsub, (f) => (f.receivedPerSecond * 1024) / 1e6, (n) => fmt.fixed(n)),
      row("pub/sub 1 KiB, msg/s published", pubsub, (f) => f.publishedPerSecond, fmt.int),
      row("req/rep 1 KiB, p50 latency (us)", requestReply, (f) => f.latency.p50Us, fmt.int),
      row("req/rep 1 KiB, p99 latency (us)", requestReply, (f) => f.latency.p99Us, fmt.int),
      row("req/rep 1 KiB, mean latency (us)", requestReply, (f) => f.latency.meanUs, fmt.int),
      row("req/rep 1 KiB, sequential req/s", requestReply, (f) => 1e6 / f.latency.meanUs, fmt.int),
    ],
  );
}

/** Everything a reader should know beyond the table: spread, losses, reordering, failures, warnings. */
export function notes(measurements: Measurements): string[] {
  const out: string[] = [];
  for (const [system, runs] of measurements.pubsub) {
    const name = NAMES[system];
    for (const error of runs.failed) out.push(`pub/sub ${name}: a round FAILED: ${error.message}`);
    if (!runs.done.length) continue;
    const rates = runs.done.map((run) => fmt.int(run.receivedPerSecond)).join(", ");
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
        (lost > 0 || warmupLost > 0 ? ` (LOST ${fmt.int(lost)} measured, ${fmt.int(warmupLost)} warm-up)` : " (no loss)") +
        (outOfOrder ? `, ${fmt.int(outOfOrder)} out of order` : "") +
        (wrongSize ? `, ${fmt.int(wrongSize)} of the wrong size` : ""),
    );
    for (const warning of unique(runs.done.flatMap((run) => run.serverWarnings)).slice(0, 5)) {
      out.push(`pub/sub ${name}, the server logged: ${warning}`);
    }
  }
  for (const [system, runs] of measurements.requestReply) {
    const name = NAMES[system];
    for (const error of runs.failed) out.push(`req/rep ${name}: a round FAILED: ${error.message}`);
    if (!runs.done.length) continue;
    const pooled = summarize(runs.done.flatMap((run) => run.samplesUs));
    const p50s = runs.done.map((run) => fmt.int(summarize(run.samplesUs).p50Us)).join(", ");
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
      .filter(([system]) => system === "iris")
      .flatMap(([, runs]) => runs.done.flatMap((run: { secretbox: string[] }) => run.secretbox)),
  );
  if (backends.length) out.push(`iris-mesh role processes sealed with secretbox backend: ${backends.join(", ")}`);
  return out;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
