// Request/reply latency, one 1 KiB request at a time: requester, server and member each in its own
// process, through one relay, three relays (requester on A, member on C) and nats-server. Every round
// trip is timed in the requester; percentiles pool the samples of every round.

import { fmt, table } from "../lib/report.ts";
import { runLatencyRound } from "../lib/request-round.ts";
import type { LatencyPlan, LatencyRound } from "../lib/request-round.ts";
import { failuresOf, goals, ratioRow, takeTurns } from "../lib/scenario.ts";
import type { Rounds, Scenario, ScenarioOutcome, SummaryRow } from "../lib/scenario.ts";
import { SYSTEM_NAMES } from "../lib/servers.ts";
import { medianCpu, summarize } from "../lib/stats.ts";
import type { LatencySummary } from "../lib/stats.ts";
import { cpuBreakdown } from "../lib/summary.ts";
import type { System } from "../protocol.ts";
import { pubsubSystems } from "./pubsub.ts";

const SERVICE = "bench-echo";
// Round trips keep getting faster for the first several thousand requests of fresh processes (the JIT
// at work in every process, and nats-server too): with 2,000 warm-up requests, the first round's p99 was
// 1.6-1.9 ms for both systems where later rounds, in the same processes, gave 0.35-0.9 ms. Ten thousand
// warm up both systems, so the rounds measure the steady state a long-running service lives in.
const PLAN: LatencyPlan = { service: SERVICE, size: 1024, warmup: 10_000, count: 5000, timeoutMs: 5000 };

interface Figures {
  latency: LatencySummary;
  cpuTotal: number;
  breakdown: string;
}

function figuresOf(runs: Rounds<LatencyRound> | undefined): Figures | null {
  if (!runs?.done.length) return null;
  const cpu = medianCpu(runs.done.map((run) => run.cpu));
  return {
    latency: summarize(runs.done.flatMap((run) => run.samplesUs)),
    cpuTotal: cpu.total,
    breakdown: cpuBreakdown(cpu),
  };
}

const METRICS: Array<{ label: string; value(latency: LatencySummary): number }> = [
  { label: "p50 (µs)", value: (l) => l.p50Us },
  { label: "p99 (µs)", value: (l) => l.p99Us },
  { label: "mean (µs)", value: (l) => l.meanUs },
  { label: "sequential req/s", value: (l) => 1e6 / l.meanUs },
];

export const latency: Scenario = {
  name: "latency",
  title: "request/reply 1 KiB, one at a time, p50/p99: 1 relay, 3 relays, NATS",
  describe: () => [
    [
      "req/rep latency",
      `1 KiB random payloads echoed, one request at a time; per round ${fmt.int(PLAN.warmup)} warm-up + ` +
        `${fmt.int(PLAN.count)} measured; CPU per request over the measured ones`,
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const systems = pubsubSystems(context);
    const keys = context.keysFor(SERVICE);
    const all = await takeTurns(
      context,
      (system) => `req/rep serial ${SYSTEM_NAMES[system]}`,
      systems,
      async (system) => {
        const result = await runLatencyRound(system, PLAN, keys, context.natsBinary, context.roles);
        const { p50Us, p99Us, count } = summarize(result.samplesUs);
        return {
          result,
          line:
            `p50 ${fmt.int(p50Us)} µs, p99 ${fmt.int(p99Us)} µs over ${fmt.int(count)} requests, ` +
            `${fmt.int(result.failures)} failed${result.route ? `, via ${result.route.path}` : ""}`,
        };
      },
    );
    const figures = new Map(systems.map((system) => [system, figuresOf(all.get(system))]));
    const value = (system: System, pick: (l: LatencySummary) => number) => {
      const found = figures.get(system);
      return found ? pick(found.latency) : NaN;
    };
    const cpu = (system: System) => figures.get(system)?.cpuTotal ?? NaN;
    const versus = context.natsBinary ? "NATS" : "";
    const p50 = (l: LatencySummary) => l.p50Us;
    const p99 = (l: LatencySummary) => l.p99Us;
    const cpus = (system: System) => ({ ours: cpu(system), baseline: cpu("nats") });
    const rows: SummaryRow[] = [
      ratioRow(
        "req/rep serial, 1 relay: p50 µs",
        value("iris", p50),
        versus,
        value("nats", p50),
        fmt.int,
        (r) => goals.atMost(1, r),
        cpus("iris"),
      ),
      ratioRow("req/rep serial, 1 relay: p99 µs", value("iris", p99), versus, value("nats", p99), fmt.int, (r) =>
        goals.atMost(1.5, r),
      ),
      ratioRow(
        "req/rep serial, 3 relays: p50 µs",
        value("iris3", p50),
        versus,
        value("nats", p50),
        fmt.int,
        null,
        cpus("iris3"),
      ),
      ratioRow("req/rep serial, 3 relays: p99 µs", value("iris3", p99), versus, value("nats", p99), fmt.int, null),
    ];
    const ratioColumns = context.natsBinary ? systems.filter((system) => system !== "nats") : [];
    const detail = table(
      [
        "metric",
        ...systems.map((system) => SYSTEM_NAMES[system]),
        ...ratioColumns.map((s) => `${SYSTEM_NAMES[s]} / NATS`),
      ],
      [
        ...METRICS.map((metric) => [
          metric.label,
          ...systems.map((system) => (figures.get(system) ? fmt.int(value(system, metric.value)) : "failed")),
          ...ratioColumns.map((system) => fmt.ratio(value(system, metric.value), value("nats", metric.value))),
        ]),
        [
          "CPU µs per request, all",
          ...systems.map((system) => fmt.fixed(cpu(system))),
          ...ratioColumns.map((system) => fmt.ratio(cpu(system), cpu("nats"))),
        ],
      ],
    );
    const breakdowns = systems.map(
      (system) => `  ${SYSTEM_NAMES[system]}: ${figures.get(system)?.breakdown ?? "failed"}`,
    );
    const failures = failuresOf("req/rep serial", all);
    const notes = [...failures.notes];
    for (const [system, runs] of all) {
      if (!runs.done.length) continue;
      const name = `req/rep serial ${SYSTEM_NAMES[system]}`;
      const p50s = runs.done.map((run) => fmt.int(summarize(run.samplesUs).p50Us)).join(", ");
      const p99s = runs.done.map((run) => fmt.int(summarize(run.samplesUs).p99Us)).join(", ");
      const pooled = summarize(runs.done.flatMap((run) => run.samplesUs));
      const failed = runs.done.reduce((sum, run) => sum + run.failures, 0);
      const first = runs.done.find((run) => run.firstFailure)?.firstFailure;
      notes.push(
        `${name}: p50 per round ${p50s} µs; p99 per round ${p99s} µs; min ${fmt.int(pooled.minUs)}, max ${fmt.int(pooled.maxUs)} µs` +
          (failed ? `; ${fmt.int(failed)} requests FAILED, first: ${first}` : ""),
      );
      for (const warning of [...new Set(runs.done.flatMap((run) => run.serverWarnings))].slice(0, 5))
        notes.push(`${name}, the server logged: ${warning}`);
    }
    return {
      details: [
        "request/reply 1 KiB, one at a time (percentiles pool every round's samples)",
        detail,
        "CPU µs per request, per process (median of rounds):\n" + breakdowns.join("\n"),
      ],
      rows,
      notes,
      failures: failures.count,
    };
  },
};
