// The idle-peers section of `npm run bench` (alone: `npm run bench -- idle`): one relay with 200 peers
// attached, then 10,000, measured against the goals of issue 13: at 10,000 idle peers the relay uses at
// most 5% of a core and 200 MiB resident, and request p99 is within 2x of its value at 200 peers.

import { block, fmt, table } from "./lib/report.ts";
import { summarize } from "./lib/stats.ts";
import { runIdle } from "./scenarios/idle.ts";
import type { IdlePlan, IdleResult } from "./scenarios/idle.ts";

const MiB = 1024 * 1024;

export const IDLE_PLAN: IdlePlan = {
  phases: [200, 10_000],
  holders: 4,
  concurrency: 64,
  settleMs: 5000,
  // Longer than the relay's ping interval for idle peers (20 to 25 s): every idle peer is pinged in it.
  cpuWindowMs: 30_000,
  request: { size: 1024, warmup: 1000, durationMs: 30_000, timeoutMs: 5000 },
};

const GOALS = { cpuPercent: 5, rssBytes: 200 * MiB, p99Ratio: 2 };

export function describeIdle(plan: IdlePlan): string {
  return block([
    [
      "idle peers",
      `${plan.phases.map(fmt.int).join(", then ")} peers on one relay (the requester and the member included); idle ones held by ` +
        `${plan.holders} processes, each peer its own connection and identity`,
    ],
    [
      "measured",
      `after ${fmt.fixed(plan.settleMs / 1000, 0)} s of settling: relay CPU over ${fmt.fixed(plan.cpuWindowMs / 1000, 0)} s ` +
        `(/proc, % of one core), resident memory, pings sent; then 1 KiB requests one at a time for ${fmt.fixed(plan.request.durationMs / 1000, 0)} s`,
    ],
  ]);
}

/** Runs the idle-peers measurement and prints it; false when it could not run. */
export async function benchIdle(keys: Record<string, string>, plan: IdlePlan = IDLE_PLAN): Promise<boolean> {
  process.stdout.write(`idle peers: ${plan.phases.map(fmt.int).join(", then ")} on one relay ... `);
  const started = performance.now();
  let result: IdleResult;
  try {
    result = await runIdle(plan, keys);
  } catch (error) {
    console.log(`FAILED: ${(error as Error).message}`);
    return false;
  }
  console.log(`done (${fmt.fixed((performance.now() - started) / 1000)} s)\n`);
  console.log(idleTable(result));
  console.log("\n" + idleVerdict(result).join("\n"));
  return true;
}

function idleTable(result: IdleResult): string {
  const rows = result.phases.map((phase) => {
    const { p50Us, p99Us, count } = summarize(phase.samplesUs);
    return [
      fmt.int(phase.peers),
      `${fmt.int(phase.attached)}/${fmt.int(phase.peers - 2)}`,
      fmt.fixed(phase.openMs / 1000),
      fmt.fixed(phase.cpuPercent, 2),
      fmt.fixed(phase.rssBytes / MiB),
      fmt.fixed(phase.pingsPerSecond),
      fmt.int(p50Us),
      fmt.int(p99Us),
      `${fmt.int(count)}/${fmt.int(phase.requestFailures)}`,
      fmt.int(phase.drops),
    ];
  });
  return table(
    [
      "peers",
      "idle attached",
      "attach s",
      "relay CPU %",
      "relay RSS MiB",
      "pings/s",
      "req p50 us",
      "req p99 us",
      "requests/failed",
      "drops",
    ],
    rows,
  );
}

function idleVerdict(result: IdleResult): string[] {
  const first = result.phases[0]!;
  const last = result.phases[result.phases.length - 1]!;
  const ratio = summarize(last.samplesUs).p99Us / summarize(first.samplesUs).p99Us;
  const met = (ok: boolean) => (ok ? "met" : "NOT MET");
  const lines = [
    `goals at ${fmt.int(last.peers)} peers: CPU ${fmt.fixed(last.cpuPercent, 2)}% <= ${GOALS.cpuPercent}%: ${met(last.cpuPercent <= GOALS.cpuPercent)}; ` +
      `RSS ${fmt.fixed(last.rssBytes / MiB)} MiB <= ${GOALS.rssBytes / MiB} MiB: ${met(last.rssBytes <= GOALS.rssBytes)}; ` +
      `request p99 ${fmt.fixed(ratio, 2)}x that at ${fmt.int(first.peers)} peers <= ${GOALS.p99Ratio}x: ${met(ratio <= GOALS.p99Ratio)}`,
  ];
  for (const phase of result.phases) {
    if (phase.openFailures || phase.requestFailures || phase.drops) {
      lines.push(
        `at ${fmt.int(phase.peers)} peers: ${phase.openFailures} peers failed to attach, ${phase.requestFailures} requests failed, ` +
          `${phase.drops} drops${phase.firstFailure ? `; first failure: ${phase.firstFailure}` : ""}${phase.dropReasons.length ? `; drops: ${phase.dropReasons.join("; ")}` : ""}`,
      );
    }
  }
  if (result.relayWarnings.length) lines.push(`the relay logged:\n  ${result.relayWarnings.slice(0, 10).join("\n  ")}`);
  return lines;
}
