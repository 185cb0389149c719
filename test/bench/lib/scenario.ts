// What a scenario is to the runner (run.ts): a name to select it by, a description printed before it
// runs, and a run that returns its printed details, its rows of the summary table and its notes. Every
// scenario file exports one; scenarios/index.ts lists them, one line each.

import { generateKey } from "../../../core/node.ts";
import type { System } from "../protocol.ts";
import { fmt } from "./report.ts";
import type { RolePool } from "./role-pool.ts";
import { SYSTEM_NAMES } from "./servers.ts";

export interface BenchContext {
  /** nats-server, or null when it is missing (or IRIS_BENCH_NATS=none): NATS columns are then skipped. */
  natsBinary: string | null;
  /** Rounds of each measurement (IRIS_BENCH_ROUNDS, default 3); systems take turns within a round. */
  rounds: number;
  /** Keys for these cluster and topic names, the same for a name throughout the run. */
  keysFor(...names: string[]): Record<string, string>;
  /** Role processes kept between the rounds of the scenario running (a fresh pool per scenario). */
  roles: RolePool;
}

export interface Scenario {
  /** What `npm run bench -- <name>` selects it by. */
  name: string;
  /** One line for the list of scenarios. */
  title: string;
  /** Why it cannot run on this machine (a missing browser, say), or null. */
  unavailable?(context: BenchContext): string | null;
  /** "key  value" lines printed before it runs: what is measured, with what sizes and counts. */
  describe(context: BenchContext): Array<[string, string]>;
  run(context: BenchContext): Promise<ScenarioOutcome>;
}

export interface ScenarioOutcome {
  /** Printed as soon as the scenario ends: its tables, process by process. */
  details: string[];
  /** Its lines in the summary table at the end of the run. */
  rows: SummaryRow[];
  /** Cells of the zero-loss matrix it measured. */
  losses?: LossCell[];
  /** Everything a reader should not miss: losses, drops, failures, warnings of the servers. */
  notes: string[];
  /** Rounds that could not run: the bench exits non-zero if any did. */
  failures: number;
}

/** One line of the summary: an iris-mesh figure, its baseline measured in the same run, and the goal. */
export interface SummaryRow {
  figure: string;
  ours: string;
  /** What it is compared with (NATS, raw ws, 1 relay, ...) and that figure; "" when nothing is. */
  versus: string;
  baseline: string;
  /** ours / baseline; NaN when there is no baseline. */
  ratio: number;
  goal: Goal | null;
  /** CPU µs per message (or request), all processes together, ours and the baseline's. */
  cpu?: { ours: number; baseline: number };
}

export interface Goal {
  text: string;
  /** Whether this run meets it; null when the figures to judge are missing. */
  met: boolean | null;
}

const judged = (value: number, test: (value: number) => boolean) => (Number.isFinite(value) ? test(value) : null);

/** Issue 10's goals, as ratios to the baseline. */
export const goals = {
  atLeast: (x: number, ratio: number): Goal => ({ text: `>= ${x.toFixed(1)}x`, met: judged(ratio, (r) => r >= x) }),
  atMost: (x: number, ratio: number): Goal => ({ text: `<= ${x.toFixed(1)}x`, met: judged(ratio, (r) => r <= x) }),
  above: (x: number, ratio: number): Goal => ({ text: `> ${x.toFixed(1)}x`, met: judged(ratio, (r) => r > x) }),
  /** No figure to reach: the figure is printed beside its baseline. */
  beside: (): Goal => ({ text: "beside it", met: null }),
  all: (text: string, ok: boolean | null): Goal => ({ text, met: ok }),
};

/** A row comparing two figures of the same unit; with no baseline (`versus` ""), just ours and no goal. */
export function ratioRow(
  figure: string,
  ours: number,
  versus: string,
  baseline: number,
  show: (value: number) => string,
  goal: ((ratio: number) => Goal) | null,
  cpu?: { ours: number; baseline: number },
): SummaryRow {
  const ratio = Number.isFinite(ours) && Number.isFinite(baseline) && baseline > 0 ? ours / baseline : NaN;
  return {
    figure,
    ours: show(ours),
    versus,
    baseline: versus ? show(baseline) : "",
    ratio,
    goal: goal && versus ? goal(ratio) : null,
    ...(cpu ? { cpu } : {}),
  };
}

/** A cell of the zero-loss matrix: one route and subscriber count, every round. */
export interface LossCell {
  /** "1 relay", "3 relays" or "NATS". */
  system: string;
  subscribers: number;
  rounds: Array<{
    sent: number;
    /** Measured messages each subscriber received (distinct). */
    received: number[];
    /** Times a subscriber's or the publisher's connection dropped, and what the server logged about it. */
    drops: number;
    reasons: string[];
  }>;
}

/** Every round of one measurement for one system; a failed round is kept as its error. */
export interface Rounds<T> {
  done: T[];
  failed: Error[];
}

/**
 * Runs `rounds` rounds of a measurement, the systems taking turns within each round so that a disturbance
 * on the machine does not land on one side only; prints a progress line per round and system. A round
 * that throws is recorded as failed, not fatal.
 */
export async function takeTurns<S extends string, T>(
  context: BenchContext,
  label: (system: S) => string,
  systems: readonly S[],
  run: (system: S, round: number) => Promise<{ result: T; line: string }>,
): Promise<Map<S, Rounds<T>>> {
  const all = new Map<S, Rounds<T>>(systems.map((system) => [system, { done: [], failed: [] }]));
  for (let round = 1; round <= context.rounds; round++) {
    for (const system of systems) {
      process.stdout.write(`round ${round}/${context.rounds}  ${label(system).padEnd(34)} ... `);
      const started = performance.now();
      const into = all.get(system)!;
      try {
        const { result, line } = await run(system, round);
        into.done.push(result);
        console.log(`${line}  (${fmt.fixed((performance.now() - started) / 1000)} s)`);
      } catch (error) {
        into.failed.push(error as Error);
        console.log(`FAILED: ${(error as Error).message}`);
      }
    }
  }
  return all;
}

/** Failed rounds over all systems, and a note for each, naming the system as `name` says. */
export function failuresOf<S extends string, T>(
  label: string,
  all: Map<S, Rounds<T>>,
  name: (system: S) => string = (system) => SYSTEM_NAMES[system as System] ?? system,
): { count: number; notes: string[] } {
  const notes: string[] = [];
  for (const [system, runs] of all)
    for (const error of runs.failed) notes.push(`${label} ${name(system)}: a round FAILED: ${error.message}`);
  return { count: notes.length, notes };
}

/** Lazily generated keys, one per name for the whole run. */
export function keyring(): (...names: string[]) => Record<string, string> {
  const keys: Record<string, string> = {};
  return (...names) => {
    for (const name of names) keys[name] ??= generateKey();
    return Object.fromEntries(names.map((name) => [name, keys[name]!]));
  };
}
