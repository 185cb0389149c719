// A 64 MiB tunnel, in 64 KiB messages, through one relay and through three relays (caller on A, member
// on C), beside raw `ws` forwarding of the same bytes in messages of the same size (sender, forwarder
// and receiver processes). Then the same with a receiver that stops reading for 3 s halfway: does every
// byte still arrive?

import { fmt, table } from "../lib/report.ts";
import { failuresOf, goals, ratioRow, takeTurns } from "../lib/scenario.ts";
import type { Rounds, Scenario, ScenarioOutcome, SummaryRow } from "../lib/scenario.ts";
import { median, medianCpu } from "../lib/stats.ts";
import { runStreamRound } from "../lib/stream-round.ts";
import type { PauseKind, StreamPlan, StreamRound, StreamSystem } from "../lib/stream-round.ts";
import { cpuBreakdown } from "../lib/summary.ts";

const SERVICE = "bench-stream";
const MIB = 1024 * 1024;
const TOTAL = 64 * MIB;
const MESSAGE = 64 * 1024;
const PAUSE_MS = 3000;
const PLAN: StreamPlan = {
  service: SERVICE,
  total: TOTAL,
  messageSize: MESSAGE,
  pauseAfter: -1,
  pauseMs: 0,
  pause: "reader",
};
const PAUSES: Record<PauseKind, { plan: StreamPlan; label: string }> = {
  reader: { plan: { ...PLAN, pauseAfter: TOTAL / 2, pauseMs: PAUSE_MS }, label: `reader stops ${PAUSE_MS / 1000} s` },
  process: {
    plan: { ...PLAN, pauseAfter: TOTAL / 2, pauseMs: PAUSE_MS, pause: "process" },
    label: `receiver SIGSTOPped ${PAUSE_MS / 1000} s`,
  },
};
/** A pause is a yes-or-no question, asked once per run: every byte arrived, or not. */
const PAUSE_ROUNDS = 1;

const NAMES: Record<StreamSystem, string> = {
  iris: "tunnel, 1 relay",
  iris3: "tunnel, 3 relays",
  ws: "raw ws forwarding",
};

export const tunnel: Scenario = {
  name: "tunnel",
  title: "a 64 MiB tunnel over 1 and 3 relays beside raw ws forwarding; and with the receiver pausing 3 s",
  describe: () => [
    [
      "tunnel",
      `${TOTAL / MIB} MiB of random bytes in ${MESSAGE / 1024} KiB messages, caller and member each in its own process; ` +
        "the member reads everything and checks its SHA-256; MB/s from the caller's first message to the member's last; " +
        "both ends hash what passes (SHA-256), here and in the baseline, which is in their CPU",
    ],
    [
      "raw ws",
      "the same bytes in the same messages from a sender through a forwarder to a receiver (3 processes, plain `ws`, no " +
        "sealing): the forwarder passes each message on and stops reading from the sender while over 1 MiB is unwritten " +
        "to the receiver; the sender waits likewise",
    ],
    [
      "pauses",
      `once half is in, the receiver pauses ${PAUSE_MS / 1000} s, ${PAUSE_ROUNDS} round each: its reader stops (the member ` +
        "stops iterating the tunnel, the raw receiver pauses its socket) while the process runs on; or its whole process " +
        "is stopped (SIGSTOP, then SIGCONT: no reads, no heartbeats), as a long GC pause or a starved CPU would; reported: " +
        "did every byte still arrive",
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const keys = context.keysFor(SERVICE);
    const line = (result: StreamRound) =>
      `${fmt.fixed(result.megabytesPerSecond)} MB/s, ${fmt.fixed(result.received / MIB)} of ${TOTAL / MIB} MiB ` +
      `${result.intact ? "intact" : "NOT all intact"}, ${fmt.fixed(result.cpu.total)} µs CPU per 64 KiB` +
      (result.senderError ? `; sender: ${result.senderError}` : "") +
      (result.receiverError ? `; receiver: ${result.receiverError}` : "") +
      (result.route ? `, via ${result.route.path}` : "");
    const measured: Array<{ label: string; runs: Map<StreamSystem, Rounds<StreamRound>> }> = [];
    measured.push({
      label: "",
      runs: await takeTurns(
        context,
        (system) => NAMES[system],
        ["iris", "iris3", "ws"] as const,
        async (system) => {
          const result = await runStreamRound(system, PLAN, keys, context.roles);
          return { result, line: line(result) };
        },
      ),
    });
    for (const { plan, label } of Object.values(PAUSES)) {
      measured.push({
        label,
        runs: await takeTurns(
          { ...context, rounds: PAUSE_ROUNDS },
          (system) => `${NAMES[system]}, ${label}`,
          ["iris", "ws"] as const,
          async (system) => {
            const result = await runStreamRound(system, plan, keys, context.roles);
            return { result, line: line(result) };
          },
        ),
      });
    }
    const steady = measured[0]!.runs;
    const rate = (runs: Rounds<StreamRound> | undefined) => median(counted(runs).map((run) => run.megabytesPerSecond));
    const cpu = (runs: Rounds<StreamRound> | undefined) =>
      counted(runs).length ? medianCpu(counted(runs).map((run) => run.cpu)).total : NaN;
    const ws = steady.get("ws");
    const rows: SummaryRow[] = (["iris", "iris3"] as const).map((system) => {
      const runs = steady.get(system);
      const row = ratioRow(
        `tunnel ${TOTAL / MIB} MiB, ${system === "iris" ? "1 relay" : "3 relays"}: MB/s (CPU per 64 KiB)`,
        rate(runs),
        "raw ws",
        rate(ws),
        fmt.fixed,
        () => goals.beside(),
        { ours: cpu(runs), baseline: cpu(ws) },
      );
      const intact = runs?.done.filter((run) => run.intact).length ?? 0;
      const all = runs?.done.length ?? 0;
      return intact === all ? row : { ...row, ours: `${row.ours} (${intact}/${all} intact)` };
    });
    const everyByte = (runs: Rounds<StreamRound> | undefined) => {
      if (!runs?.done.length) return { text: "failed", ok: null };
      const intact = runs.done.filter((run) => run.intact).length;
      const all = intact === runs.done.length;
      return { text: all ? "yes" : `NO (${intact} of ${runs.done.length} rounds)`, ok: all };
    };
    for (const { label, runs } of measured.slice(1)) {
      const ours = everyByte(runs.get("iris"));
      rows.push({
        figure: `tunnel 1 relay, ${label}: every byte arrived`,
        ours: ours.text,
        versus: "raw ws",
        baseline: everyByte(runs.get("ws")).text,
        ratio: NaN,
        goal: goals.all("yes", ours.ok),
      });
    }

    const detailRows: string[][] = [];
    const notes: string[] = [];
    let failed = 0;
    for (const { label, runs } of measured) {
      const failures = failuresOf(`tunnel${label ? `, ${label},` : ""}`, runs, (system) => NAMES[system]);
      failed += failures.count;
      notes.push(...failures.notes);
      for (const [system, rounds] of runs) {
        const name = NAMES[system] + (label ? `, ${label}` : "");
        detailRows.push(
          rounds.done.length
            ? [
                name,
                fmt.fixed(rate(rounds)),
                `${rounds.done.filter((run) => run.intact).length}/${rounds.done.length}`,
                cpuBreakdown(medianCpu(counted(rounds).map((run) => run.cpu))),
              ]
            : [name, "failed", "", ""],
        );
        notes.push(...troubles(name, rounds));
      }
    }
    return {
      details: [
        `${TOTAL / MIB} MiB in ${MESSAGE / 1024} KiB messages (median of the rounds that delivered every byte, of all ` +
          "rounds if none did; with a pause, the pause is in the time)",
        table(["path", "MB/s", "intact rounds", "CPU µs per 64 KiB message, per process = all"], detailRows),
      ],
      rows,
      notes,
      failures: failed,
    };
  },
};

/**
 * The rounds a rate is taken from: those that delivered every byte, if any did; a broken transfer's rate
 * says little about the path. When none did, all of them, and the table says so.
 */
function counted(runs: Rounds<StreamRound> | undefined): StreamRound[] {
  const done = runs?.done ?? [];
  const intact = done.filter((run) => run.intact);
  return intact.length ? intact : done;
}

/** What went wrong in rounds that did not deliver every byte, and what the servers logged. */
function troubles(name: string, runs: Rounds<StreamRound>): string[] {
  const out: string[] = [];
  for (const [index, run] of runs.done.entries()) {
    if (run.intact) continue;
    out.push(
      `${name}, round ${index + 1}: ${fmt.int(run.received)} of ${fmt.int(TOTAL)} bytes arrived` +
        (run.senderError ? `; the sender: ${run.senderError}` : "") +
        (run.receiverError ? `; the receiver: ${run.receiverError}` : "") +
        (run.received === TOTAL && !run.senderError && !run.receiverError ? "; the SHA-256 differs" : "") +
        (run.plan.pauseAfter >= 0 && run.pausedMs === 0
          ? `; it broke before the receiver paused (due at ${fmt.int(run.plan.pauseAfter)} bytes)`
          : ""),
    );
  }
  for (const warning of [...new Set(runs.done.flatMap((run) => run.serverWarnings))].slice(0, 5))
    out.push(`${name}, the server logged: ${warning}`);
  return out;
}
