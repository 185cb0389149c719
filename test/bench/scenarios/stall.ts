// The other half of zero loss: a subscriber that stops making progress. 1 publisher -> 4 subscribers
// at full speed through one relay, beside NATS; one second into the measured phase the first
// subscriber's process is stopped (SIGSTOP) for 12 s. Issue 10 wants it dropped after a bounded time,
// and nobody else slowed for longer than that: the figures are when the server cut it off, whether the
// other subscribers got every message, and the longest any of them waited between two messages.

import { pubsubNotes } from "../lib/pubsub-notes.ts";
import { runPubSubRound } from "../lib/pubsub-round.ts";
import type { PubSubPlan, PubSubRound } from "../lib/pubsub-round.ts";
import { fmt, table } from "../lib/report.ts";
import { failuresOf, goals, ratioRow, takeTurns } from "../lib/scenario.ts";
import type { Rounds, Scenario, ScenarioOutcome, SummaryRow } from "../lib/scenario.ts";
import { SYSTEM_NAMES } from "../lib/servers.ts";
import type { System } from "../protocol.ts";

const TOPIC = "bench-stall";
const STOP_AFTER_MS = 1000;
/**
 * Longer than the relay's stall timeout (10 s by default) and NATS's write deadline (10 s), so a cut
 * after a bounded time shows; long enough to see how long the others are held up meanwhile.
 */
const STOP_FOR_MS = 12_000;
const PLAN: PubSubPlan = {
  topic: TOPIC,
  size: 1024,
  payload: "random",
  subscribers: 4,
  warmupMs: 1000,
  measureMs: STOP_AFTER_MS + STOP_FOR_MS + 1000,
  stall: { afterMs: STOP_AFTER_MS, forMs: STOP_FOR_MS },
};
/** Whether the stopped subscriber is cut, and what it costs the others, is asked once per run. */
const ROUNDS = 1;

interface StallFigures {
  /** The worst share of the measured messages a subscriber that kept running received. */
  healthyShare: number;
  /** The longest a running subscriber waited between two messages, ms. */
  longestGapMs: number;
  cutAfterMs: number | null;
  cutSeenIn: string;
  /** Measured messages delivered per second to the running subscribers together. */
  healthyPerSecond: number;
}

function figuresOf(runs: Rounds<PubSubRound> | undefined): StallFigures | null {
  const run = runs?.done[0];
  if (!run) return null;
  const healthy = run.reports.slice(1);
  return {
    healthyShare: Math.min(...healthy.map((report) => report.received / run.sent)),
    longestGapMs: Math.max(...healthy.map((report) => report.longestGapMs)),
    cutAfterMs: run.stall?.cutAfterMs ?? null,
    cutSeenIn: run.stall?.cutSeenIn ?? "",
    healthyPerSecond: run.perSubscriberPerSecond.slice(1).reduce((sum, rate) => sum + rate, 0),
  };
}

const cut = (figures: StallFigures | null) =>
  !figures
    ? "failed"
    : figures.cutAfterMs === null
      ? `not within ${STOP_FOR_MS / 1000} s`
      : `after ${fmt.int(figures.cutAfterMs)} ms`;

export const stall: Scenario = {
  name: "stall",
  title: "a subscriber stopped 12 s among 4: is it cut off, and does anyone else wait? 1 relay, NATS",
  describe: () => [
    [
      "stalled subscriber",
      `1 KiB random payloads, 1 publisher -> ${PLAN.subscribers} subscribers through one relay, at full speed for ` +
        `${PLAN.measureMs / 1000} s; ${STOP_AFTER_MS / 1000} s in, subscriber 1's process is stopped (SIGSTOP) for ` +
        `${STOP_FOR_MS / 1000} s; the cut is seen in the server's log, or in the relays' slow-consumer counters or peer count (polled every 50 ms); ${ROUNDS} round`,
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const systems: System[] = context.natsBinary ? ["iris", "nats"] : ["iris"];
    const keys = context.keysFor(TOPIC);
    const all = await takeTurns(
      { ...context, rounds: ROUNDS },
      (system) => `stall ${SYSTEM_NAMES[system]}`,
      systems,
      async (system) => {
        const result = await runPubSubRound(system, PLAN, keys, context.natsBinary, context.roles);
        const figures = figuresOf({ done: [result], failed: [] })!;
        return {
          result,
          line:
            `stopped subscriber cut ${cut(figures)}; the others got ${fmt.fixed(figures.healthyShare * 100, 1)}% ` +
            `and waited at most ${fmt.int(figures.longestGapMs)} ms between messages`,
        };
      },
    );
    const ours = figuresOf(all.get("iris"));
    const nats = figuresOf(all.get("nats"));
    const versus = context.natsBinary ? "NATS" : "";
    const share = (figures: StallFigures | null) =>
      figures ? `${fmt.fixed(figures.healthyShare * 100, 1)}%` : "failed";
    const rows: SummaryRow[] = [
      {
        figure: `stall: subscriber stopped ${STOP_FOR_MS / 1000} s, cut off`,
        ours: cut(ours),
        versus,
        baseline: versus ? cut(nats) : "",
        ratio: NaN,
        goal: goals.all("cut, in bounded time", ours ? ours.cutAfterMs !== null : null),
      },
      {
        figure: "stall: the running subscribers got",
        ours: share(ours),
        versus,
        baseline: versus ? share(nats) : "",
        ratio: NaN,
        goal: goals.all("100%", ours ? ours.healthyShare >= 1 : null),
      },
      ratioRow(
        "stall: longest wait at a running subscriber, ms",
        ours?.longestGapMs ?? NaN,
        versus,
        nats?.longestGapMs ?? NaN,
        fmt.int,
        versus ? () => goals.beside() : null,
      ),
    ];
    const detail = table(
      [
        "system",
        "stopped subscriber cut",
        "seen in",
        "received / sent, subscriber by subscriber (1 stopped)",
        "running ones' longest wait",
        "their msg/s",
      ],
      [...all].map(([system, runs]) => {
        const figures = figuresOf(runs);
        const run = runs.done[0];
        if (!figures || !run) return [SYSTEM_NAMES[system], "failed", "", "", "", ""];
        return [
          SYSTEM_NAMES[system],
          cut(figures),
          figures.cutSeenIn,
          `${run.reports.map((report) => fmt.int(report.received)).join(", ")} / ${fmt.int(run.sent)}`,
          `${fmt.int(figures.longestGapMs)} ms`,
          fmt.int(figures.healthyPerSecond),
        ];
      }),
    );
    const failures = failuresOf("stall", all);
    return {
      details: [
        `subscriber 1 of ${PLAN.subscribers} stopped for ${STOP_FOR_MS / 1000} s in the measured phase`,
        detail,
      ],
      rows,
      notes: [
        ...failures.notes,
        "stall: losses below are subscriber 1's, stopped on purpose; the running subscribers' share is in the table",
        ...pubsubNotes("stall", all),
      ],
      failures: failures.count,
    };
  },
};
