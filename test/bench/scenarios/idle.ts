// Idle peers: what 10,000 attached peers that do nothing cost one relay, against 200 (issue 13's goals:
// at 10,000 idle peers the relay uses at most 5% of a core and 200 MiB resident, and request p99 is
// within 2x of its value at 200 peers). The peers are real connections (their own identities and
// WebSockets), held by a few processes; a requester and a member in their own processes time request
// round trips through the same relay.
//
// Per phase (200 peers, then 10,000): the relay's CPU at idle (% of one core, from /proc, over a window
// longer than the peer heartbeat, so it holds every idle peer's ping), its resident memory, the pings it
// sent per second, and request latency over a fixed duration (so that whatever the relay does
// periodically lands among the samples). One run, not rounds: attaching 10,000 peers takes minutes.

import { readFileSync } from "node:fs";
import { meterCpu } from "../lib/cpu.ts";
import type { Logged } from "../lib/logged.ts";
import { isRoutineRelayLine } from "../lib/relay-log.ts";
import { fetchStatus, startRelay, statusUrl } from "../lib/relays.ts";
import { fmt, table } from "../lib/report.ts";
import type { RolePool } from "../lib/role-pool.ts";
import type { Role } from "../lib/roles.ts";
import { goals } from "../lib/scenario.ts";
import type { Scenario, ScenarioOutcome, SummaryRow } from "../lib/scenario.ts";
import { summarize } from "../lib/stats.ts";
import type { IdleOpenResult, IdleStatus, RequestRunResult } from "../protocol.ts";

const SERVICE = "bench-idle-echo";
const MiB = 1024 * 1024;

interface IdlePlan {
  /** Peers attached in each phase, the requester and the member included. */
  phases: number[];
  /** Processes holding the idle peers. */
  holders: number;
  /** Connections each holder opens at once. */
  concurrency: number;
  /** After the peers are attached, before measuring: the connection storm settles. */
  settleMs: number;
  /** The window over which the relay's CPU is measured at idle. */
  cpuWindowMs: number;
  request: { size: number; warmup: number; durationMs: number; timeoutMs: number };
}

const PLAN: IdlePlan = {
  phases: [200, 10_000],
  holders: 4,
  concurrency: 64,
  settleMs: 5000,
  // Longer than the relay's ping interval for idle peers (20 to 25 s): every idle peer is pinged in it.
  cpuWindowMs: 30_000,
  request: { size: 1024, warmup: 1000, durationMs: 30_000, timeoutMs: 5000 },
};

const GOALS = { cpuPercent: 5, rssBytes: 200 * MiB, p99Ratio: 2 };

interface IdlePhase {
  peers: number;
  /** Idle peers attached when measured (of peers - 2). */
  attached: number;
  openMs: number;
  openFailures: number;
  cpuPercent: number;
  rssBytes: number;
  pingsPerSecond: number;
  samplesUs: number[];
  requestFailures: number;
  firstFailure: string | null;
  /** Idle peers that lost their relay during the phase. */
  drops: number;
  dropReasons: string[];
}

export const idle: Scenario = {
  name: "idle",
  title: "idle peers on one relay: relay CPU, RSS and request p50/p99 at 200 and 10,000 peers",
  describe: () => [
    [
      "idle peers",
      `${PLAN.phases.map(fmt.int).join(", then ")} peers on one relay (the requester and the member included); idle ` +
        `ones held by ${PLAN.holders} processes, each peer its own connection and identity`,
    ],
    [
      "measured",
      `after ${fmt.fixed(PLAN.settleMs / 1000, 0)} s of settling: relay CPU over ${fmt.fixed(PLAN.cpuWindowMs / 1000, 0)} s ` +
        `(/proc, % of one core), resident memory, pings sent; then 1 KiB requests one at a time for ` +
        `${fmt.fixed(PLAN.request.durationMs / 1000, 0)} s`,
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const keys = context.keysFor(SERVICE);
    process.stdout.write(`idle peers: ${PLAN.phases.map(fmt.int).join(", then ")} on one relay ... `);
    const started = performance.now();
    const { phases, warnings } = await runIdle(keys, context.roles);
    console.log(`done (${fmt.fixed((performance.now() - started) / 1000)} s)`);
    const first = phases[0]!;
    const last = phases[phases.length - 1]!;
    const p99First = summarize(first.samplesUs).p99Us;
    const p99Last = summarize(last.samplesUs).p99Us;
    const rows: SummaryRow[] = [
      {
        figure: `idle ${fmt.int(last.peers)} peers: relay CPU % of a core`,
        ours: fmt.fixed(last.cpuPercent, 2),
        versus: `${fmt.int(first.peers)} peers`,
        baseline: fmt.fixed(first.cpuPercent, 2),
        ratio: NaN,
        goal: goals.all(`<= ${GOALS.cpuPercent}%`, last.cpuPercent <= GOALS.cpuPercent),
      },
      {
        figure: `idle ${fmt.int(last.peers)} peers: relay RSS MiB`,
        ours: fmt.fixed(last.rssBytes / MiB),
        versus: `${fmt.int(first.peers)} peers`,
        baseline: fmt.fixed(first.rssBytes / MiB),
        ratio: NaN,
        goal: goals.all(`<= ${GOALS.rssBytes / MiB} MiB`, last.rssBytes <= GOALS.rssBytes),
      },
      {
        figure: `idle ${fmt.int(last.peers)} peers: request p99 µs`,
        ours: fmt.int(p99Last),
        versus: `${fmt.int(first.peers)} peers`,
        baseline: fmt.int(p99First),
        ratio: p99Last / p99First,
        goal: goals.atMost(GOALS.p99Ratio, p99Last / p99First),
      },
    ];
    const notes: string[] = [];
    for (const phase of phases) {
      if (phase.openFailures || phase.requestFailures || phase.drops) {
        notes.push(
          `idle at ${fmt.int(phase.peers)} peers: ${phase.openFailures} peers failed to attach, ` +
            `${phase.requestFailures} requests failed, ${phase.drops} drops` +
            (phase.firstFailure ? `; first failure: ${phase.firstFailure}` : "") +
            (phase.dropReasons.length ? `; drops: ${phase.dropReasons.join("; ")}` : ""),
        );
      }
    }
    if (warnings.length) notes.push(`idle: the relay logged:\n      ${warnings.slice(0, 10).join("\n      ")}`);
    return { details: [idleTable(phases)], rows, notes, failures: 0 };
  },
};

async function runIdle(
  keys: Record<string, string>,
  pool: RolePool,
): Promise<{ phases: IdlePhase[]; warnings: string[] }> {
  const peersAtMost = Math.max(...PLAN.phases);
  // The relay admits every idle peer from 127.0.0.1, and as many handshakes at once as the holders make.
  const relay: Logged = await startRelay(
    [],
    [
      "--max-links-per-address",
      String(peersAtMost * 2),
      "--max-handshakes-per-address",
      String(PLAN.holders * PLAN.concurrency * 2),
    ],
  );
  let roles: Role[] = [];
  try {
    roles = await pool.take([
      "responder",
      "requester",
      ...Array.from({ length: PLAN.holders }, () => "idle-peers" as const),
    ]);
    const [responder, requester, ...holders] = roles as [Role, Role, ...Role[]];
    const endpoint = { system: "iris" as const, relay: relay.match, keys };
    await Promise.all([responder.call("connect", endpoint), requester.call("connect", endpoint)]);
    await responder.call("serve", { subject: SERVICE });
    const status = statusUrl(relay);
    const pingsSent = async () => (await fetchStatus(status))?.stats?.byKind?.Ping?.framesOut ?? 0;

    const phases: IdlePhase[] = [];
    let idlePeers = 0;
    for (const peers of PLAN.phases) {
      const target = peers - 2;
      const opened = await openIdle(holders, relay.match, keys, idlePeers, target - idlePeers);
      idlePeers = target;
      await new Promise((resolve) => setTimeout(resolve, PLAN.settleMs));
      const pingsBefore = await pingsSent();
      const meter = meterCpu([{ name: "relay", pid: relay.pid }]);
      await new Promise((resolve) => setTimeout(resolve, PLAN.cpuWindowMs));
      const usage = meter.stop();
      const pingsPerSecond = ((await pingsSent()) - pingsBefore) / (usage.wallMs / 1000);
      const rss = rssBytes(relay.pid);
      const run = await requester.call<RequestRunResult>(
        "run",
        { subject: SERVICE, count: 0, ...PLAN.request },
        PLAN.request.durationMs + 60_000,
      );
      const statuses = await Promise.all(holders.map((holder) => holder.call<IdleStatus>("status")));
      phases.push({
        peers,
        attached: statuses.reduce((sum, one) => sum + one.attached, 0),
        openMs: opened.elapsedMs,
        openFailures: opened.failed,
        cpuPercent: (usage.totalMicros / 1000 / usage.wallMs) * 100,
        rssBytes: rss,
        pingsPerSecond,
        samplesUs: run.samplesUs,
        requestFailures: run.failures,
        firstFailure: run.firstFailure ?? opened.firstFailure,
        drops: statuses.reduce((sum, one) => sum + one.drops, 0),
        dropReasons: statuses.flatMap((one) => one.dropReasons).slice(0, 5),
      });
    }
    return { phases, warnings: relay.lines().filter((line) => !isRoutineRelayLine(line, false)) };
  } finally {
    // Idle holders keep thousands of connections: they are stopped, not kept for another round.
    await Promise.all(roles.filter((role) => role.name === "idle-peers").map((role) => role.stop()));
    await pool.giveBack(roles.filter((role) => role.name !== "idle-peers"));
    await relay.stop();
  }
}

/** Opens `count` more idle peers, spread evenly over the holders (peer n goes to holder n % holders). */
async function openIdle(
  holders: Role[],
  relay: string,
  keys: Record<string, string>,
  already: number,
  count: number,
): Promise<IdleOpenResult> {
  const started = performance.now();
  const shares = holders.map((_, index) => {
    let share = 0;
    for (let n = already; n < already + count; n++) if (n % holders.length === index) share++;
    return share;
  });
  const results = await Promise.all(
    holders.map((holder, index) =>
      shares[index]! > 0
        ? holder.call<IdleOpenResult>(
            "open",
            { relay, keys, count: shares[index]!, concurrency: PLAN.concurrency },
            600_000,
          )
        : Promise.resolve({ opened: 0, failed: 0, firstFailure: null, elapsedMs: 0 }),
    ),
  );
  return {
    opened: results.reduce((sum, result) => sum + result.opened, 0),
    failed: results.reduce((sum, result) => sum + result.failed, 0),
    firstFailure: results.find((result) => result.firstFailure)?.firstFailure ?? null,
    elapsedMs: performance.now() - started,
  };
}

/** Resident memory of a process now, bytes (Linux's /proc). */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

function idleTable(phases: IdlePhase[]): string {
  return table(
    [
      "peers",
      "idle attached",
      "attach s",
      "relay CPU %",
      "relay RSS MiB",
      "pings/s",
      "req p50 µs",
      "req p99 µs",
      "requests/failed",
      "drops",
    ],
    phases.map((phase) => {
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
    }),
  );
}
