// Fan-out, 1 publisher -> 8 subscribers, 1 KiB, each in its own process: through one relay, through
// three relays (the publisher on A, every subscriber on C), and through nats-server. The figure is the
// messages delivered per second, all subscribers together; each subscriber's loss is counted.

import { lossCell, lossRow, pubsubFigures, pubsubNotes, pubsubTable } from "../lib/pubsub-notes.ts";
import { runPubSubRound } from "../lib/pubsub-round.ts";
import type { PubSubPlan } from "../lib/pubsub-round.ts";
import { fmt } from "../lib/report.ts";
import { failuresOf, goals, ratioRow, takeTurns } from "../lib/scenario.ts";
import type { Scenario, ScenarioOutcome, SummaryRow } from "../lib/scenario.ts";
import { SYSTEM_NAMES } from "../lib/servers.ts";
import { pubsubSystems } from "./pubsub.ts";

const TOPIC = "bench-fanout";
const SUBSCRIBERS = 8;
const PLAN: PubSubPlan = {
  topic: TOPIC,
  size: 1024,
  payload: "random",
  subscribers: SUBSCRIBERS,
  warmupMs: 1000,
  measureMs: 3000,
};

export const fanout: Scenario = {
  name: "fanout",
  title: `fan-out 1 KiB, 1 publisher -> ${SUBSCRIBERS} subscribers: 1 relay, 3 relays, NATS`,
  describe: () => [
    [
      "fan-out",
      `1 KiB random payloads, 1 publisher -> ${SUBSCRIBERS} subscribers, each in its own process (on 3 relays all ` +
        `subscribers on relay C); warm-up ${PLAN.warmupMs / 1000} s, then ${PLAN.measureMs / 1000} s publishing at full ` +
        "speed; the rate is every message delivered, from the first to arrive at any subscriber to the last; CPU per " +
        "message delivered (so the subscribers' share is what each spends on a message it gets)",
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const systems = pubsubSystems(context);
    const keys = context.keysFor(TOPIC);
    const all = await takeTurns(
      context,
      (system) => `fan-out ${SYSTEM_NAMES[system]}`,
      systems,
      async (system) => {
        const result = await runPubSubRound(system, PLAN, keys, context.natsBinary, context.roles);
        const worst = Math.min(...result.reports.map((report) => report.received));
        return {
          result,
          line:
            `${fmt.int(result.deliveredPerSecond)} msg/s delivered, ${fmt.int(result.sent)} published, the least ` +
            `served subscriber got ${fmt.int(worst)}, ${fmt.fixed(result.cpu.total)} µs CPU/msg`,
        };
      },
    );
    const [one, three, nats] = [
      pubsubFigures(all.get("iris")),
      pubsubFigures(all.get("iris3")),
      pubsubFigures(all.get("nats")),
    ];
    const rate = (figures: typeof one) => figures?.deliveredPerSecond ?? NaN;
    const cpu = (figures: typeof one) => figures?.cpu.total ?? NaN;
    const versus = context.natsBinary ? "NATS" : "";
    const rows: SummaryRow[] = [
      ratioRow(
        `fan-out 1 -> ${SUBSCRIBERS}, 1 relay: msg/s delivered`,
        rate(one),
        versus,
        rate(nats),
        fmt.int,
        (r) => goals.atLeast(1, r),
        { ours: cpu(one), baseline: cpu(nats) },
      ),
      ratioRow(
        `fan-out 1 -> ${SUBSCRIBERS}, 3 relays: msg/s delivered`,
        rate(three),
        versus,
        rate(nats),
        fmt.int,
        null,
        { ours: cpu(three), baseline: cpu(nats) },
      ),
    ];
    const natsCell = lossCell("NATS", all.get("nats"));
    const oneCell = lossCell("1 relay", all.get("iris"));
    const threeCell = lossCell("3 relays", all.get("iris3"));
    rows.push(
      lossRow(`zero loss, 1 relay, ${SUBSCRIBERS} subscribers`, oneCell, natsCell),
      lossRow(`zero loss, 3 relays, ${SUBSCRIBERS} subscribers`, threeCell, natsCell),
    );
    const failures = failuresOf("fan-out", all);
    return {
      details: [`fan-out 1 KiB, 1 publisher -> ${SUBSCRIBERS} subscribers (median of rounds)`, pubsubTable(all)],
      rows,
      losses: [oneCell, threeCell, natsCell].filter((cell) => cell !== null),
      notes: [...failures.notes, ...pubsubNotes("fan-out", all)],
      failures: failures.count,
    };
  },
};
