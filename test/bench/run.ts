// npm run bench: iris-mesh next to NATS, measured side by side in one run on this machine.
//
//   1. publish/subscribe throughput, 1 KiB: publisher, server, subscriber each in its own process;
//   2. request/reply latency, 1 KiB, one request at a time: requester, server, responder likewise.
//
// Three systems: iris-mesh through one relay; iris-mesh through a backbone of three relays, the sending
// role on relay A and the receiving one on relay C, so traffic crosses relay-to-relay links (five
// processes); Debian's nats-server with the `nats` npm client.
//
// Each measurement runs a few rounds, the systems taking turns, so a disturbance on the machine does not
// land on one side only; every round starts fresh server and role processes.
//
//   3. idle peers: what 10,000 attached peers that do nothing cost one relay, against 200 (idle.ts).
//
// `npm run bench -- idle` runs only the third.
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
import type { Route } from "./lib/servers.ts";
import { summarize } from "./lib/stats.ts";
import type { System } from "./protocol.ts";
import { NAMES, backboneRatios, notes, resultsTable, rounds } from "./results.ts";
import type { Measurements, Rounds } from "./results.ts";
import { TOPIC, runPubSub } from "./scenarios/pubsub.ts";
import type { PubSubPlan } from "./scenarios/pubsub.ts";
import { SERVICE, runRequestReply } from "./scenarios/request-reply.ts";
import type { RequestReplyPlan } from "./scenarios/request-reply.ts";
import { IDLE_PLAN, benchIdle, describeIdle } from "./idle.ts";
import { IDLE_SERVICE } from "./scenarios/idle.ts";

const KIB = 1024;
const ROUNDS = 3;

// Counts sized so each measured phase lasts one to a few seconds on a 2-core machine: NATS moves many
// more messages per second, so it gets more of them. The whole run stays within one to two minutes.
const PUBSUB_PLANS: Record<System, PubSubPlan> = {
  iris: { size: KIB, warmup: 10_000, count: 100_000 },
  iris3: { size: KIB, warmup: 10_000, count: 100_000 },
  nats: { size: KIB, warmup: 50_000, count: 500_000 },
};
// Round trips keep getting faster for the first couple of thousand requests (the JIT at work in every
// process), hence the long warm-up.
const REQUEST_REPLY_PLAN: RequestReplyPlan = { size: KIB, warmup: 2_000, count: 5_000, timeoutMs: 5_000 };
const REQUEST_REPLY_PLANS: Record<System, RequestReplyPlan> = {
  iris: REQUEST_REPLY_PLAN,
  iris3: REQUEST_REPLY_PLAN,
  nats: REQUEST_REPLY_PLAN,
};

/** The sections named on the command line (`npm run bench -- idle`); none named means all. */
const SECTIONS = new Set(process.argv.slice(2));

async function main(): Promise<void> {
  killChildrenOnExit();
  if (SECTIONS.size > 0) {
    const unknown = [...SECTIONS].filter((section) => section !== "idle");
    if (unknown.length)
      throw new Error(`unknown bench section ${unknown.join(", ")}: the one that runs alone is "idle"`);
    return mainIdle();
  }
  const started = performance.now();
  const natsBinary = findNatsServer();
  const systems: System[] = natsBinary ? ["iris", "iris3", "nats"] : ["iris", "iris3"];
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
        return {
          result,
          line: `${fmt.int(result.receivedPerSecond)} msg/s received, ${fmt.int(received)}/${fmt.int(result.plan.count)} arrived${via(result.route)}`,
        };
      });
    }
    for (const system of systems) {
      await measure(`req/rep ${NAMES[system]}`, round, measurements.requestReply.get(system)!, async () => {
        const result = await runRequestReply(system, REQUEST_REPLY_PLANS[system], keys, natsBinary);
        const { p50Us, p99Us, count } = summarize(result.samplesUs);
        return {
          result,
          line: `p50 ${fmt.int(p50Us)} us, p99 ${fmt.int(p99Us)} us over ${fmt.int(count)} requests, ${fmt.int(result.failures)} failed${via(result.route)}`,
        };
      });
    }
  }

  console.log("\n" + resultsTable(measurements, systems));
  if (natsBinary)
    console.log("\nratio = iris-mesh / NATS: above 1x means more throughput, or more latency, than NATS.");
  console.log(
    `${natsBinary ? "" : "\n"}pub/sub figures are the median of the rounds; latency percentiles pool every round's samples.`,
  );
  const remarks = notes(measurements);
  const versusOneRelay = backboneRatios(measurements);
  if (versusOneRelay.length) {
    remarks.push(
      "iris-mesh, 3 relays / iris-mesh (1 relay), metric by metric (above 1x: more throughput, or more latency, on 3 relays):\n" +
        versusOneRelay.map((line) => `      ${line}`).join("\n"),
    );
  }
  if (remarks.length) console.log("\nnotes:\n" + remarks.map((remark) => `  - ${remark}`).join("\n"));
  if (!natsBinary)
    console.log(`\nNATS was not measured: nats-server is not installed. Install it with:\n  ${INSTALL_NATS_HINT}`);
  console.log("\n" + describeIdle(IDLE_PLAN) + "\n");
  const idleRan = await benchIdle({ [IDLE_SERVICE]: generateKey() });
  console.log(`\ndone in ${fmt.fixed((performance.now() - started) / 1000)} s; ${load().text} at the end`);
  const failed = [...measurements.pubsub.values(), ...measurements.requestReply.values()].some(
    (runs) => runs.failed.length,
  );
  process.exitCode = failed || !idleRan ? 1 : 0;
}

/** `npm run bench -- idle`: the idle-peers section alone. */
async function mainIdle(): Promise<void> {
  const started = performance.now();
  console.log("iris-mesh benchmark: idle peers on one relay, loopback (127.0.0.1) only\n");
  console.log(
    block([
      ["command", commandLine()],
      ["machine", machine()],
      ["load", `${load().text} at start`],
    ]),
  );
  console.log(describeIdle(IDLE_PLAN) + "\n");
  const ran = await benchIdle({ [IDLE_SERVICE]: generateKey() });
  console.log(`\ndone in ${fmt.fixed((performance.now() - started) / 1000)} s; ${load().text} at the end`);
  process.exitCode = ran ? 0 : 1;
}

function printHeader(systems: System[], natsBinary: string | null): void {
  const perRound = <P extends { warmup: number; count: number }>(plans: Record<System, P>) => {
    const text = (system: System) =>
      `${fmt.int(plans[system].warmup)} warm-up + ${fmt.int(plans[system].count)} measured`;
    const all = systems.map(text);
    return all.every((one) => one === all[0])
      ? all[0]!
      : systems.map((system) => `${NAMES[system]} ${text(system)}`).join("; ");
  };
  const atStart = load();
  console.log(
    `iris-mesh benchmark: iris-mesh (one relay, and three relays as one backbone)${natsBinary ? " next to NATS" : ""}, one run, loopback (127.0.0.1) only\n`,
  );
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
        `secretbox backend ${secretboxBackend()}; bodies under 4 KiB are sealed uncompressed; relays run with --log quiet --startup-grace 0`,
      ],
      [
        "3 relays",
        "relay A, then B and C seeded with A's address; roles start once every relay's /status shows >= 1 link and 2 relays " +
          "in its directory, and then links to both others; the sender (publisher, requester) on relay A, the receiver " +
          "(subscriber, member) on relay C",
      ],
      [
        "routing",
        "on 3 relays traffic climbs to the service's rendezvous relay (A, B or C: relay ids are new every round) and down its " +
          "tree, so 1 or 2 relay-to-relay links each way; measuring starts once C's receiver is counted at the rendezvous",
      ],
      ["NATS", natsDescription(natsBinary)],
      [
        "processes",
        "publisher, server, subscriber (or requester, server, responder) each in its own process: 3, or 5 on 3 relays",
      ],
      ["pub/sub", `1 KiB random payloads, 1 publisher, 1 subscriber; per round: ${perRound(PUBSUB_PLANS)}`],
      ["req/rep", `1 KiB random payloads echoed, one request at a time; per round: ${perRound(REQUEST_REPLY_PLANS)}`],
      [
        "rounds",
        `${ROUNDS}, ${systems.map((system) => NAMES[system]).join(", then ")} taking turns; fresh processes every round`,
      ],
    ]),
  );
  if (!natsBinary) console.log(`\nnats-server is not installed: only iris-mesh is measured (${INSTALL_NATS_HINT}).`);
  console.log("");
}

/** ", via A -> B -> C" for a backbone round. */
function via(route: Route | null): string {
  return route ? `, via ${route.path}` : "";
}

/** Runs one round of one measurement and prints a progress line; a failure is recorded, not fatal. */
async function measure<T>(
  label: string,
  round: number,
  into: Rounds<T>,
  run: () => Promise<{ result: T; line: string }>,
): Promise<void> {
  process.stdout.write(`round ${round}/${ROUNDS}  ${label.padEnd(30)} ... `);
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
