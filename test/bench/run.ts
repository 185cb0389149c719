// npm run bench [-- <scenario> ...]: iris-mesh next to its baselines (NATS, raw `ws` forwarding, a raw
// RTCDataChannel), measured side by side in one run on this machine, every role in its own process on
// 127.0.0.1. Each scenario prints its details as it ends; the run ends with one summary table, a row per
// figure of issue 10 with its baseline, the ratio and the goal, and the zero-loss matrix.
//
// A benchmark, not a test: it prints figures and ratios and asserts nothing about time. It exits
// non-zero only when a measurement could not run.
//
// Environment: IRIS_BENCH_NATS=<path to nats-server> or "none" to skip NATS; IRIS_BENCH_ROUNDS=<n>
// rounds per measurement (default 3); IRIS_BENCH_CPU_PROF=<dir> to write a CPU profile of every relay
// and role process there; CHROMIUM_PATH for the browser scenario (default /usr/bin/chromium).

import { cpuMeteringAvailable } from "./lib/cpu.ts";
import { unitEnvironment } from "../fixtures/relay-unit.ts";
import { commandLine, load, machine, natsDescription, secretboxBackend } from "./lib/environment.ts";
import { killChildrenOnExit, profiling } from "./lib/processes.ts";
import { rolePool } from "./lib/role-pool.ts";
import { block, fmt } from "./lib/report.ts";
import { keyring } from "./lib/scenario.ts";
import type { BenchContext, LossCell, Scenario, SummaryRow } from "./lib/scenario.ts";
import { INSTALL_NATS_HINT, findNatsServer } from "./lib/servers.ts";
import { lossMatrix, summaryTable } from "./lib/summary.ts";
import { SCENARIOS } from "./scenarios/index.ts";

const DEFAULT_ROUNDS = 3;

function usage(): string {
  const width = Math.max(...SCENARIOS.map((scenario) => scenario.name.length));
  return [
    "usage: npm run bench [-- <scenario> ...]   (all of them by default, in this order)",
    ...SCENARIOS.map((scenario) => `  ${scenario.name.padEnd(width)}  ${scenario.title}`),
  ].join("\n");
}

/** The scenarios named on the command line, in the registry's order; null (after saying why) on a bad name. */
function chosen(names: string[]): Scenario[] | null {
  if (names.some((name) => name === "-h" || name === "--help" || name === "help")) {
    console.log(usage());
    return [];
  }
  const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length) {
    console.error(`bench: no scenario named ${unknown.join(", ")}\n${usage()}`);
    return null;
  }
  return names.length ? SCENARIOS.filter((scenario) => names.includes(scenario.name)) : [...SCENARIOS];
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const scenarios = chosen(names);
  if (scenarios === null) {
    process.exitCode = 2;
    return;
  }
  if (scenarios.length === 0) return;
  killChildrenOnExit();
  const started = performance.now();
  const natsBinary = findNatsServer();
  const rounds = Number(process.env.IRIS_BENCH_ROUNDS ?? DEFAULT_ROUNDS);
  const context: Omit<BenchContext, "roles"> = {
    natsBinary,
    rounds: Number.isInteger(rounds) && rounds > 0 ? rounds : DEFAULT_ROUNDS,
    keysFor: keyring(),
  };
  printHeader(context, scenarios);

  const rows: SummaryRow[] = [];
  const losses: LossCell[] = [];
  const notes: string[] = [];
  let failures = 0;
  for (const scenario of scenarios) {
    console.log(`\n== ${scenario.name}: ${scenario.title}`);
    const roles = rolePool();
    const scenarioContext: BenchContext = { ...context, roles };
    const unavailable = scenario.unavailable?.(scenarioContext) ?? null;
    if (unavailable) {
      console.log(`SKIPPED: ${unavailable}`);
      notes.push(`${scenario.name} was SKIPPED: ${unavailable}`);
      // Asked for by name, it is a measurement that could not run; in a full run, a part left out.
      if (names.length) failures++;
      continue;
    }
    console.log(block(scenario.describe(scenarioContext)) + "\n");
    const scenarioStarted = performance.now();
    try {
      const outcome = await scenario.run(scenarioContext);
      console.log("\n" + outcome.details.join("\n\n"));
      rows.push(...outcome.rows);
      losses.push(...(outcome.losses ?? []));
      notes.push(...outcome.notes);
      failures += outcome.failures;
    } catch (error) {
      console.log(`FAILED: ${(error as Error).stack ?? String(error)}`);
      notes.push(`${scenario.name} FAILED: ${(error as Error).message}`);
      failures++;
    } finally {
      await roles.close();
    }
    console.log(`(${scenario.name} took ${fmt.fixed((performance.now() - scenarioStarted) / 1000)} s)`);
  }

  console.log("\n== summary (iris-mesh beside its baseline from this run; ratio = iris-mesh / baseline)\n");
  if (rows.length) console.log(summaryTable(rows));
  const matrix = lossMatrix(losses);
  if (matrix.length) console.log("\n" + matrix.join("\n"));
  console.log(
    "\nRates are medians of the rounds; latency percentiles pool every round's samples; CPU µs are user + system time " +
      "from /proc over each measured phase, per message (or request) delivered, every process of the system summed " +
      "(process by process in each scenario's table above).",
  );
  if (!cpuMeteringAvailable()) console.log("CPU figures are n/a: this machine has no /proc.");
  if (notes.length) console.log("\nnotes:\n" + notes.map((note) => `  - ${note}`).join("\n"));
  if (!natsBinary) console.log(`\nNATS was not measured: ${natsMissing()}`);
  console.log(`\ndone in ${fmt.fixed((performance.now() - started) / 1000)} s; ${load().text} at the end`);
  process.exitCode = failures ? 1 : 0;
}

function natsMissing(): string {
  return process.env.IRIS_BENCH_NATS === "none"
    ? "IRIS_BENCH_NATS=none"
    : `nats-server is not installed (${INSTALL_NATS_HINT}, or IRIS_BENCH_NATS=<path>)`;
}

function printHeader(context: Omit<BenchContext, "roles">, scenarios: Scenario[]): void {
  const atStart = load();
  console.log("iris-mesh benchmark: iris-mesh beside its baselines, one run, loopback (127.0.0.1) only\n");
  console.log(
    block([
      ["command", commandLine()],
      ["machine", machine()],
      [
        "load",
        `${atStart.text} at start${atStart.busy ? " (other work is running: expect lower, noisier figures)" : ""}`,
      ],
      [
        "iris-mesh",
        `secretbox backend ${secretboxBackend()}; bodies of 4 KiB and more are compressed; relays run from the build (dist/, as iris-relay) with --log-level info --startup-grace 0; roles run the sources under tsx`,
      ],
      [
        "env",
        `every Node process of both systems (relays, iris-mesh and NATS clients) runs with deploy/iris-relay.service's environment: ${Object.entries(
          unitEnvironment(),
        )
          .map(([name, value]) => `${name}=${value}`)
          .join(" ")}`,
      ],
      [
        "3 relays",
        "relay A, then B and C seeded with A's address; roles start once every relay is linked to both others; the " +
          "sending role (publisher, requester, tunnel caller) on relay A, the receiving ones on relay C; traffic climbs to " +
          "the service's rendezvous relay (A, B or C: relay ids are new every round) and down its tree",
      ],
      ["NATS", natsDescription(context.natsBinary)],
      [
        "rounds",
        `${context.rounds} per measurement, the systems taking turns within each; relays and nats-server fresh every round, ` +
          (profiling()
            ? "role processes too (IRIS_BENCH_CPU_PROF: one profile per process and round)"
            : "role processes kept for the rounds of a scenario (new connections every round)"),
      ],
      ["scenarios", scenarios.map((scenario) => scenario.name).join(", ")],
    ]),
  );
  if (!context.natsBinary) console.log(`\nNATS baselines are left out: ${natsMissing()}`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
