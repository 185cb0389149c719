// Request/reply throughput: 64 requests in flight from one requester to a cluster of 2 members (each in
// its own process) through one relay, beside a NATS queue group of 2 members. The figures: requests per
// second, and the CPU each member spends per request it answers.

import { fmt, table } from "../lib/report.ts";
import { runLoadRound } from "../lib/request-round.ts";
import type { LoadPlan, LoadRound } from "../lib/request-round.ts";
import { failuresOf, goals, ratioRow, takeTurns } from "../lib/scenario.ts";
import type { Rounds, Scenario, ScenarioOutcome, SummaryRow } from "../lib/scenario.ts";
import { SYSTEM_NAMES } from "../lib/servers.ts";
import { median, medianCpu } from "../lib/stats.ts";
import { cpuBreakdown } from "../lib/summary.ts";
import type { System } from "../protocol.ts";

const SERVICE = "bench-cluster";
const PLAN: LoadPlan = {
  service: SERVICE,
  size: 1024,
  members: 2,
  inflight: 64,
  warmupMs: 1000,
  measureMs: 3000,
  timeoutMs: 10_000,
};

interface LoadFigures {
  requestsPerSecond: number;
  /** Median over rounds of each member's CPU µs per request it answered. */
  memberCpu: number[];
  cpuTotal: number;
  breakdown: string;
}

function figuresOf(runs: Rounds<LoadRound> | undefined): LoadFigures | null {
  if (!runs?.done.length) return null;
  const cpu = medianCpu(runs.done.map((run) => run.cpu));
  return {
    requestsPerSecond: median(runs.done.map((run) => run.requestsPerSecond)),
    memberCpu: Array.from({ length: PLAN.members }, (_, index) =>
      median(runs.done.map((run) => run.memberCpu[index] ?? NaN)),
    ),
    cpuTotal: cpu.total,
    breakdown: cpuBreakdown(cpu),
  };
}

export const reqrep: Scenario = {
  name: "reqrep",
  title: `request/reply 1 KiB, ${PLAN.inflight} in flight, a cluster of ${PLAN.members} members: 1 relay, NATS queue group`,
  describe: () => [
    [
      "req/rep load",
      `1 KiB random payloads echoed; 1 requester keeps ${PLAN.inflight} requests in flight to a cluster of ` +
        `${PLAN.members} members (NATS: a queue group of ${PLAN.members}), each in its own process; warm-up ` +
        `${PLAN.warmupMs / 1000} s, then ${PLAN.measureMs / 1000} s measured; member CPU is per request that member answered`,
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const systems: System[] = context.natsBinary ? ["iris", "nats"] : ["iris"];
    const keys = context.keysFor(SERVICE);
    const all = await takeTurns(
      context,
      (system) => `req/rep x${PLAN.inflight} ${SYSTEM_NAMES[system]}`,
      systems,
      async (system) => {
        const result = await runLoadRound(system, PLAN, keys, context.natsBinary, context.roles);
        return {
          result,
          line:
            `${fmt.int(result.requestsPerSecond)} req/s, ${fmt.int(result.failures)} failed, members answered ` +
            `${result.served.map(fmt.int).join(" + ")}, member CPU ${result.memberCpu.map((us) => fmt.fixed(us)).join(" / ")} µs/req`,
        };
      },
    );
    const ours = figuresOf(all.get("iris"));
    const nats = figuresOf(all.get("nats"));
    const rows: SummaryRow[] = [
      ratioRow(
        `req/rep ${PLAN.inflight} in flight, ${PLAN.members} members: req/s`,
        ours?.requestsPerSecond ?? NaN,
        nats ? "NATS queue group" : "",
        nats?.requestsPerSecond ?? NaN,
        fmt.int,
        nats ? (r) => goals.atLeast(1, r) : null,
        { ours: ours?.cpuTotal ?? NaN, baseline: nats?.cpuTotal ?? NaN },
      ),
    ];
    const memberMean = (figures: LoadFigures | null) =>
      figures ? figures.memberCpu.reduce((sum, us) => sum + us, 0) / figures.memberCpu.length : NaN;
    const showMembers = (figures: LoadFigures | null) =>
      figures ? figures.memberCpu.map((us) => fmt.fixed(us)).join(" / ") : "failed";
    const memberRow = ratioRow(
      "req/rep, CPU µs per request in each member",
      memberMean(ours),
      nats ? "NATS queue group" : "",
      memberMean(nats),
      fmt.fixed,
      null,
    );
    rows.push({ ...memberRow, ours: showMembers(ours), baseline: nats ? showMembers(nats) : "" });

    const detail = table(
      [
        "system",
        "req/s",
        "failed",
        "answered per member",
        "member CPU µs/req",
        "CPU µs per request, per process = all",
      ],
      [...all].map(([system, runs]) => {
        const figures = figuresOf(runs);
        if (!figures) return [SYSTEM_NAMES[system], "failed", "", "", "", ""];
        const last = runs.done[runs.done.length - 1]!;
        return [
          system === "nats" ? "NATS queue group" : SYSTEM_NAMES[system],
          fmt.int(figures.requestsPerSecond),
          fmt.int(runs.done.reduce((sum, run) => sum + run.failures, 0)),
          last.served.map(fmt.int).join(" + ") + " (last round)",
          figures.memberCpu.map((us) => fmt.fixed(us)).join(" / "),
          figures.breakdown,
        ];
      }),
    );
    const failures = failuresOf("req/rep load", all);
    const notes = [...failures.notes];
    for (const [system, runs] of all) {
      const failed = runs.done.reduce((sum, run) => sum + run.failures, 0);
      const first = runs.done.find((run) => run.firstFailure)?.firstFailure;
      if (failed)
        notes.push(`req/rep load ${SYSTEM_NAMES[system]}: ${fmt.int(failed)} requests FAILED, first: ${first}`);
      for (const warning of [...new Set(runs.done.flatMap((run) => run.serverWarnings))].slice(0, 5))
        notes.push(`req/rep load ${SYSTEM_NAMES[system]}, the server logged: ${warning}`);
    }
    return {
      details: [`request/reply 1 KiB, ${PLAN.inflight} in flight, ${PLAN.members} members (median of rounds)`, detail],
      rows,
      notes,
      failures: failures.count,
    };
  },
};
