// npm run bench: iris-mesh next to NATS, measured side by side in one run on this machine.
//
//   1. publish/subscribe throughput, 1 KiB, through one server: publisher, server, subscriber in three
//      processes (an iris-mesh relay; Debian's nats-server with the `nats` npm client);
//   2. request/reply latency, 1 KiB, one request at a time: requester, server, responder in three
//      processes.
//
// Each measurement runs a few rounds, iris-mesh and NATS taking turns, so a disturbance on the machine
// does not land on one side only; every round starts fresh server and role processes.
//
// A benchmark, not a test: it prints figures and ratios and asserts nothing about time. It exits
// non-zero only when a measurement could not run.
//
// Environment: IRIS_BENCH_NATS=<path to nats-server> or "none" to skip NATS; IRIS_BENCH_CPU_PROF=<dir>
// to write a CPU profile of every relay and role process there.

import { generateKey } from "../../core/node.ts";
import { commandLine, load, machine, natsDescription, secretboxBackend } from "./lib/environment.ts";
import { killChildrenOnExit } from "./lib/processes.ts";
import { block, fmt } from "./lib/report.ts";
import { INSTALL_NATS_HINT, findNatsServer } from "./lib/servers.ts";
import { summarize } from "./lib/stats.ts";
import type { System } from "./protocol.ts";
import { NAMES, notes, resultsTable, rounds } from "./results.ts";
import type { Measurements, Rounds } from "./results.ts";
import { TOPIC, runPubSub } from "./scenarios/pubsub.ts";
import type { PubSubPlan } from "./scenarios/pubsub.ts";
import { SERVICE, runRequestReply } from "./scenarios/request-reply.ts";
import type { RequestReplyPlan } from "./scenarios/request-reply.ts";

const KIB = 1024;
const ROUNDS = 3;

// Counts sized so each measured phase lasts one to a few seconds on a 2-core machine: NATS moves many
// more messages per second, so it gets more of them. The whole run stays within one to two minutes.
const PUBSUB_PLANS: Record<System, PubSubPlan> = {
  iris: { size: KIB, warmup: 10_000, count: 100_000 },
  nats: { size: KIB, warmup: 50_000, count: 500_000 },
};
// Round trips keep getting faster for the first couple of thousand requests (the JIT at work in every
// process), hence the long warm-up.
const REQUEST_REPLY_PLAN: RequestReplyPlan = { size: KIB, warmup: 2_000, count: 5_000, timeoutMs: 5_000 };

async function main(): Promise<void> {
  killChildrenOnExit();
  const started = performance.now();
  const natsBinary = findNatsServer();
  const systems: System[] = natsBinary ? ["iris", "nats"] : ["iris"];
  const keys = { [TOPIC]: generateKey(), [SERVICE]: generateKey() };
  printHeader(systems, natsBinary);

  const measurements: Measurements = {
    pubsub: new Map(systems.map((system) => [system, rounds()])),
    requestReply: new Map(systems.map((system) => [system, rounds()])),
  };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const system of systems) {
      await measure(`pub/sub ${NAMES[system]}`, round, measurements.pubsub.get(system)!, async () => {
        const result = await runPubSub(system, PUBSUB_PLANS[system], keys, natsBinary);
        const { received } = result.report;
        return { result, line: `${fmt.int(result.receivedPerSecond)} msg/s received, ${fmt.int(received)}/${fmt.int(result.plan.count)} arrived` };
      });
    }
    for (const system of systems) {
      await measure(`req/rep ${NAMES[system]}`, round, measurements.requestReply.get(system)!, async () => {
        const result = await runRequestReply(system, REQUEST_REPLY_PLAN, keys, natsBinary);
        const { p50Us, p99Us, count } = summarize(result.samplesUs);
        return { result, line: `p50 ${fmt.int(p50Us)} us, p99 ${fmt.int(p99Us)} us over ${fmt.int(count)} requests, ${fmt.int(result.failures)} failed` };
      });
    }
  }

  console.log("\n" + resultsTable(measurements, systems));
  console.log("\nratio = iris-mesh / NATS: above 1x means more throughput, or more latency, than NATS.");
  console.log("pub/sub figures are the median of the rounds; latency percentiles pool every round's samples.");
  const remarks = notes(measurements);
  if (remarks.length) console.log("\nnotes:\n" + remarks.map((remark) => `  - ${remark}`).join("\n"));
  if (!natsBinary) console.log(`\nNATS was not measured: nats-server is not installed. Install it with:\n  ${INSTALL_NATS_HINT}`);
  console.log(`\ndone in ${fmt.fixed((performance.now() - started) / 1000)} s; ${load().text} at the end`);
  const failed = [...measurements.pubsub.values(), ...measurements.requestReply.values()].some((runs) => runs.failed.length);
  process.exitCode = failed ? 1 : 0;
}

function printHeader(systems: System[], natsBinary: string | null): void {
  const pubsubPlans = systems
    .map((system) => `${NAMES[system]} ${fmt.int(PUBSUB_PLANS[system].warmup)} warm-up + ${fmt.int(PUBSUB_PLANS[system].count)} measured`)
    .join(", ");
  const { warmup, count } = REQUEST_REPLY_PLAN;
  const atStart = load();
  console.log("iris-mesh benchmark: iris-mesh next to NATS, one run, loopback (127.0.0.1) only\n");
  console.log(
    block([
      ["command", commandLine()],
      ["machine", machine()],
      ["load", `${atStart.text} at start${atStart.busy ? " (other work is running: expect lower, noisier figures)" : ""}`],
      ["iris-mesh", `secretbox backend ${secretboxBackend()}; bodies under 4 KiB are sealed uncompressed`],
      ["NATS", natsDescription(natsBinary)],
      ["pub/sub", `1 KiB random payloads, 1 publisher, 1 subscriber, 3 processes; per round: ${pubsubPlans}`],
      ["req/rep", `1 KiB random payloads echoed, one request at a time, 3 processes; per round: ${fmt.int(warmup)} warm-up + ${fmt.int(count)} measured`],
      ["rounds", `${ROUNDS}, ${systems.map((system) => NAMES[system]).join(" and ")} taking turns; fresh processes every round`],
    ]),
  );
  if (!natsBinary) console.log(`\nnats-server is not installed: only iris-mesh is measured (${INSTALL_NATS_HINT}).`);
  console.log("");
}

/** Runs one round of one measurement and prints a progress line; a failure is recorded, not fatal. */
async function measure<T>(label: string, round: number, into: Rounds<T>, run: () => Promise<{ result: T; line: string }>): Promise<void> {
  process.stdout.write(`round ${round}/${ROUNDS}  ${label.padEnd(18)} ... `);
  const started = performance.now();
  try {
    const { result, line } = await run();
    into.done.push(result);
    console.log(`${line}  (${fmt.fixed((performance.now() - started) / 1000)} s)`);
  } catch (error) {
    into.failed.push(error as Error);
    console.log(`FAILED: ${(error as Error).message}`);
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
