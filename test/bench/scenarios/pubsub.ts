// pub/sub 1 KiB, one publisher and one subscriber, each in its own process: through one relay, through
// three relays (publisher on A, subscriber on C), and through nats-server. The figure is what the
// subscriber received per second, with the loss counted and the CPU of every process per message.

import { lossCell, lossRow, pubsubFigures, pubsubNotes, pubsubTable } from "../lib/pubsub-notes.ts";
import { runPubSubRound } from "../lib/pubsub-round.ts";
import type { PubSubPlan } from "../lib/pubsub-round.ts";
import { fmt } from "../lib/report.ts";
import { failuresOf, goals, ratioRow, takeTurns } from "../lib/scenario.ts";
import type { BenchContext, Scenario, ScenarioOutcome, SummaryRow } from "../lib/scenario.ts";
import { SYSTEM_NAMES } from "../lib/servers.ts";
import type { System } from "../protocol.ts";

const TOPIC = "bench-topic";
const PLAN: PubSubPlan = {
  topic: TOPIC,
  size: 1024,
  payload: "random",
  subscribers: 1,
  warmupMs: 1000,
  measureMs: 3000,
};

export function pubsubSystems(context: BenchContext): System[] {
  return context.natsBinary ? ["iris", "iris3", "nats"] : ["iris", "iris3"];
}

export const pubsub: Scenario = {
  name: "pubsub",
  title: "pub/sub 1 KiB, 1 publisher -> 1 subscriber: 1 relay, 3 relays, NATS",
  describe: () => [
    [
      "pub/sub",
      `1 KiB random payloads, 1 publisher -> 1 subscriber, each in its own process; warm-up ${PLAN.warmupMs / 1000} s, ` +
        `then ${PLAN.measureMs / 1000} s publishing as fast as the client's flow control allows; the rate is the ` +
        "subscriber's, first to last measured message; CPU per process over the measured phase",
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const systems = pubsubSystems(context);
    const keys = context.keysFor(TOPIC);
    const all = await takeTurns(
      context,
      (system) => `pub/sub ${SYSTEM_NAMES[system]}`,
      systems,
      async (system) => {
        const result = await runPubSubRound(system, PLAN, keys, context.natsBinary, context.roles);
        const report = result.reports[0]!;
        return {
          result,
          line:
            `${fmt.int(result.deliveredPerSecond)} msg/s received, ${fmt.int(report.received)}/${fmt.int(result.sent)} arrived, ` +
            `${fmt.fixed(result.cpu.total)} µs CPU/msg${result.route ? `, via ${result.route.path}` : ""}`,
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
    const rows: SummaryRow[] = [];
    rows.push(
      ratioRow(
        "pub/sub 1 KiB, 1 relay: msg/s received",
        rate(one),
        context.natsBinary ? "NATS" : "",
        rate(nats),
        fmt.int,
        (r) => goals.atLeast(1, r),
        {
          ours: cpu(one),
          baseline: cpu(nats),
        },
      ),
    );
    rows.push(
      ratioRow(
        "pub/sub 1 KiB, 3 relays: msg/s received",
        rate(three),
        "1 relay",
        rate(one),
        fmt.int,
        (r) => goals.atLeast(0.8, r),
        {
          ours: cpu(three),
          baseline: cpu(one),
        },
      ),
    );
    const natsCell = lossCell("NATS", all.get("nats"));
    const losses = [lossCell("1 relay", all.get("iris")), lossCell("3 relays", all.get("iris3")), natsCell].filter(
      (cell) => cell !== null,
    );
    rows.push(
      lossRow("zero loss, 1 relay, 1 subscriber", lossCell("1 relay", all.get("iris")), natsCell),
      lossRow("zero loss, 3 relays, 1 subscriber", lossCell("3 relays", all.get("iris3")), natsCell),
    );
    const failures = failuresOf("pub/sub", all);
    return {
      details: ["pub/sub 1 KiB, 1 publisher -> 1 subscriber (median of rounds)", pubsubTable(all)],
      rows,
      losses,
      notes: [...failures.notes, ...pubsubNotes("pub/sub", all)],
      failures: failures.count,
    };
  },
};
