// Compressible payloads: pub/sub of 16 KiB and 64 KiB JSON-like text, 1 publisher -> 1 subscriber
// through one relay, beside NATS (which sends them as they are). iris-mesh compresses bodies of 4 KiB
// and more before sealing, so its subscriber inflates every message: the figures are payload MB/s
// received and the subscriber's CPU per message.

import { lossCell, lossRow, pubsubFigures, pubsubNotes, pubsubTable } from "../lib/pubsub-notes.ts";
import { runPubSubRound } from "../lib/pubsub-round.ts";
import type { PubSubPlan, PubSubRound } from "../lib/pubsub-round.ts";
import { fmt } from "../lib/report.ts";
import { failuresOf, goals, ratioRow, takeTurns } from "../lib/scenario.ts";
import type { LossCell, Rounds, Scenario, ScenarioOutcome, SummaryRow } from "../lib/scenario.ts";
import { SYSTEM_NAMES } from "../lib/servers.ts";
import { median } from "../lib/stats.ts";
import type { System } from "../protocol.ts";

const TOPIC = "bench-text";
const KIB = 1024;
const SIZES = [16 * KIB, 64 * KIB];
const plan = (size: number): PubSubPlan => ({
  topic: TOPIC,
  size,
  payload: "text",
  subscribers: 1,
  warmupMs: 1000,
  measureMs: 3000,
});

export const compress: Scenario = {
  name: "compress",
  title: "pub/sub of 16 KiB and 64 KiB compressible text, 1 -> 1: 1 relay, NATS",
  describe: () => [
    [
      "compressible",
      `JSON-like text records with varying numbers (compresses several times over), ${SIZES.map(
        (s) => `${s / KIB} KiB`,
      ).join(
        " and ",
      )}, 1 publisher -> 1 subscriber through one relay; warm-up 1 s, then 3 s at full speed; NATS sends them as they are`,
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const systems: System[] = context.natsBinary ? ["iris", "nats"] : ["iris"];
    const keys = context.keysFor(TOPIC);
    const details: string[] = [];
    const rows: SummaryRow[] = [];
    const losses: LossCell[] = [];
    const notes: string[] = [];
    let failed = 0;
    for (const size of SIZES) {
      const label = `${size / KIB} KiB text`;
      const all = await takeTurns(
        context,
        (system) => `pub/sub ${label} ${SYSTEM_NAMES[system]}`,
        systems,
        async (system) => {
          const result = await runPubSubRound(system, plan(size), keys, context.natsBinary, context.roles);
          const report = result.reports[0]!;
          const wire = system === "nats" ? "" : `, ${fmt.int(result.wireBytesPerMessage)} B on the wire`;
          return {
            result,
            line:
              `${fmt.fixed((result.deliveredPerSecond * size) / 1e6)} MB/s received, ${fmt.int(report.received)}/${fmt.int(result.sent)} ` +
              `arrived, subscriber ${fmt.fixed(result.cpu.perProcess.at(-1)?.micros ?? NaN)} µs CPU/msg${wire}`,
          };
        },
      );
      const [ours, nats] = [pubsubFigures(all.get("iris")), pubsubFigures(all.get("nats"))];
      const versus = context.natsBinary ? "NATS" : "";
      rows.push(
        ratioRow(
          `pub/sub ${label}: payload MB/s received`,
          ours?.megabytesPerSecond ?? NaN,
          versus,
          nats?.megabytesPerSecond ?? NaN,
          fmt.fixed,
          versus ? () => goals.beside() : null,
          { ours: ours?.cpu.total ?? NaN, baseline: nats?.cpu.total ?? NaN },
        ),
        ratioRow(
          `pub/sub ${label}: subscriber CPU µs/msg`,
          ours?.subscriberCpu ?? NaN,
          versus,
          nats?.subscriberCpu ?? NaN,
          fmt.fixed,
          null,
        ),
      );
      const cell = lossCell(`1 relay, ${label}`, all.get("iris"));
      const natsCell = lossCell(`NATS, ${label}`, all.get("nats"));
      rows.push(lossRow(`zero loss, 1 relay, ${label}`, cell, natsCell));
      losses.push(...[cell, natsCell].filter((one) => one !== null));
      details.push(
        `pub/sub ${label}, 1 publisher -> 1 subscriber (median of rounds)${wireNote(all.get("iris"), size)}`,
        pubsubTable(all),
      );
      const failures = failuresOf(`pub/sub ${label}`, all);
      failed += failures.count;
      notes.push(...failures.notes, ...pubsubNotes(`pub/sub ${label}`, all));
    }
    return { details, rows, losses, notes, failures: failed };
  },
};

/** How small iris-mesh's messages were on the wire: sealed and compressed, as the relay counted them. */
function wireNote(runs: Rounds<PubSubRound> | undefined, size: number): string {
  const bytes = median(runs?.done.map((run) => run.wireBytesPerMessage) ?? []);
  if (!Number.isFinite(bytes)) return "";
  return `; iris-mesh's publish frames entered the relay at ${fmt.int(bytes)} bytes each (${fmt.fixed(size / bytes)}x smaller than the payload)`;
}
