// What the rounds of a publish/subscribe measurement come to: a detail table (rates, losses, CPU per
// process), a cell of the zero-loss matrix, and notes on anything a reader must not miss: where messages
// went missing, which connections dropped, what the servers logged.

import type { System } from "../protocol.ts";
import type { CpuPerUnit } from "./cpu.ts";
import type { PubSubRound } from "./pubsub-round.ts";
import { fmt, table } from "./report.ts";
import { goals } from "./scenario.ts";
import type { LossCell, Rounds, SummaryRow } from "./scenario.ts";
import { SYSTEM_NAMES } from "./servers.ts";
import { median, medianCpu } from "./stats.ts";
import { cpuBreakdown, worstShare } from "./summary.ts";

/** The median over rounds of the figures a summary row needs. */
export interface PubSubFigures {
  deliveredPerSecond: number;
  publishedPerSecond: number;
  /** Payload MB/s delivered. */
  megabytesPerSecond: number;
  cpu: CpuPerUnit;
  subscriberCpu: number;
}

export function pubsubFigures(runs: Rounds<PubSubRound> | undefined): PubSubFigures | null {
  if (!runs?.done.length) return null;
  const rates = runs.done.map((run) => run.deliveredPerSecond);
  const cpu = medianCpu(runs.done.map((run) => collapseSubscribers(run.cpu)));
  return {
    deliveredPerSecond: median(rates),
    publishedPerSecond: median(runs.done.map((run) => run.publishedPerSecond)),
    megabytesPerSecond: (median(rates) * runs.done[0]!.plan.size) / 1e6,
    cpu,
    subscriberCpu: cpu.perProcess.find((one) => one.name.startsWith("subscriber"))?.micros ?? NaN,
  };
}

/** Subscribers' CPU together (per message delivered, that is each subscriber's cost per message it got). */
export function collapseSubscribers(cpu: CpuPerUnit): CpuPerUnit {
  const subscribers = cpu.perProcess.filter((one) => one.name.startsWith("subscriber "));
  if (subscribers.length === 0) return cpu;
  return {
    perProcess: [
      ...cpu.perProcess.filter((one) => !one.name.startsWith("subscriber ")),
      { name: `subscribers (${subscribers.length})`, micros: subscribers.reduce((sum, one) => sum + one.micros, 0) },
    ],
    total: cpu.total,
  };
}

/** One line per system: median rates over rounds, what arrived of what was sent, drops, CPU per process. */
export function pubsubTable(all: Map<System, Rounds<PubSubRound>>): string {
  const rows: string[][] = [];
  for (const [system, runs] of all) {
    const figures = pubsubFigures(runs);
    if (!figures) {
      rows.push([SYSTEM_NAMES[system], "failed", "", "", "", "", ""]);
      continue;
    }
    const sent = runs.done.reduce((sum, run) => sum + run.sent * run.plan.subscribers, 0);
    const delivered = runs.done.reduce((sum, run) => sum + run.delivered, 0);
    const drops = runs.done.reduce((sum, run) => sum + dropsOf(run), 0);
    rows.push([
      SYSTEM_NAMES[system],
      fmt.int(figures.deliveredPerSecond),
      fmt.fixed(figures.megabytesPerSecond),
      fmt.int(figures.publishedPerSecond),
      `${fmt.int(delivered)}/${fmt.int(sent)}`,
      fmt.int(drops),
      cpuBreakdown(figures.cpu),
    ]);
  }
  return table(
    [
      "system",
      "msg/s delivered",
      "payload MB/s",
      "msg/s published",
      "measured delivered/sent",
      "drops",
      "CPU µs per message delivered, per process = all",
    ],
    rows,
  );
}

/** Connections dropped (subscribers' and the publisher's) and peers the relays cut, in one round. */
function dropsOf(run: PubSubRound): number {
  const clients = run.reports.reduce((sum, report) => sum + report.drops, 0) + run.publisherDrops;
  return Math.max(clients, run.relayDisconnects) + run.relayDrops;
}

export function lossCell(label: string, runs: Rounds<PubSubRound> | undefined): LossCell | null {
  if (!runs?.done.length) return null;
  return {
    system: label,
    subscribers: runs.done[0]!.plan.subscribers,
    rounds: runs.done.map((run) => ({
      sent: run.sent,
      received: run.reports.map((report) => report.received),
      drops: dropsOf(run),
      reasons: unique([
        ...run.reports.flatMap((report) => report.dropReasons),
        ...run.publisherDropReasons,
        ...(run.relayDrops ? [`relays refused ${count(run.relayDrops, "frame")} to full queues`] : []),
      ]),
    })),
  };
}

/** Everything a reader should know beyond the table: spread, losses, reordering, stalls, warnings. */
export function pubsubNotes(label: string, all: Map<System, Rounds<PubSubRound>>): string[] {
  const out: string[] = [];
  for (const [system, runs] of all) {
    if (!runs.done.length) continue;
    const name = `${label} ${SYSTEM_NAMES[system]}`;
    const rates = runs.done.map((run) => fmt.int(run.deliveredPerSecond) + routeTag(run)).join(", ");
    out.push(`${name}: msg/s delivered per round ${rates}`);
    out.push(...deliveryNotes(name, runs.done));
    for (const warning of unique(runs.done.flatMap((run) => run.serverWarnings)).slice(0, 5)) {
      out.push(`${name}, the server logged: ${warning}`);
    }
  }
  return out;
}

/**
 * Where messages went missing or out of order, as the subscribers saw it: in gaps at a subscriber's first
 * message after its own connection dropped (a slow-consumer disconnect, say), in gaps with no such drop
 * (lost upstream), or at the end; whether the publisher's connection dropped, its event loop stalled,
 * or messages overtook each other. Empty when all went well.
 */
function deliveryNotes(name: string, runs: PubSubRound[]): string[] {
  const reports = runs.flatMap((run) => run.reports);
  const sum = (pick: (report: (typeof reports)[number]) => number) =>
    reports.reduce((total, report) => total + pick(report), 0);
  const expected = runs.reduce((total, run) => total + (run.warmupSent + run.sent) * run.plan.subscribers, 0);
  const distinct = sum((report) => report.received + report.warmupReceived);
  const lost = expected - distinct;
  const missing = sum((report) => report.missing);
  const afterDrop = sum((report) => report.missingAfterDrop);
  const out: string[] = [];
  if (lost > 0) {
    const drops = sum((report) => report.drops);
    const reasons = unique(reports.flatMap((report) => report.dropReasons));
    const parts: string[] = [];
    if (afterDrop > 0)
      parts.push(
        `${fmt.int(afterDrop)} in ${count(
          sum((r) => r.gapsAfterDrop),
          "gap",
        )} at a subscriber's first message after its ` +
          `connection dropped (${count(drops, "drop")}${reasons.length ? `: ${reasons.join("; ")}` : ""})`,
      );
    if (missing - afterDrop > 0)
      parts.push(
        `${fmt.int(missing - afterDrop)} in ${count(
          sum((r) => r.gaps - r.gapsAfterDrop),
          "gap",
        )} with no drop of the ` + `subscriber's connection before them (lost upstream of its own link)`,
      );
    if (lost - missing > 0) parts.push(`${fmt.int(lost - missing)} at the end, after the last message that arrived`);
    out.push(
      `${name}: ${fmt.int(lost)} of ${fmt.int(expected)} deliveries LOST (warm-up included): ${parts.join("; ")}`,
    );
  }
  const relayDrops = runs.reduce((total, run) => total + run.relayDrops, 0);
  const relayCuts = runs.reduce((total, run) => total + run.relayDisconnects, 0);
  if (relayDrops || relayCuts)
    out.push(
      `${name}: in the measured phases the relays refused ${count(relayDrops, "frame")} to full queues and cut ${count(relayCuts, "slow consumer")}`,
    );
  const stalls = runs.map((run) => run.publisherLongestStallMs);
  if (Math.max(...stalls) >= STALL_WORTH_NOTING_MS)
    out.push(
      `${name}: the publisher's event loop went up to ${stalls.map((ms) => fmt.int(ms)).join(", ")} ms (per round) without a ` +
        `turn while publishing: its awaited publish() calls resolved at once, so nothing else ran in that process`,
    );
  const publisherDrops = runs.reduce((total, run) => total + run.publisherDrops, 0);
  if (publisherDrops > 0)
    out.push(
      `${name}: the publisher's connection dropped ${count(publisherDrops, "time")} (${unique(runs.flatMap((run) => run.publisherDropReasons)).join("; ")})`,
    );
  const late = sum((report) => report.late);
  const duplicates = sum((report) => report.duplicates);
  const wrongSize = sum((report) => report.wrongSize);
  if (late || duplicates || wrongSize)
    out.push(
      `${name}: ${fmt.int(late)} messages arrived after a higher sequence number from the same publisher (overtaken), ` +
        `${fmt.int(duplicates)} arrived twice, ${fmt.int(wrongSize)} had the wrong size`,
    );
  if (out.length) {
    const troubled = runs.flatMap((run, index) =>
      run.reports.filter((report) => report.events.length).map((report) => ({ run, index, report })),
    );
    const first = troubled[0];
    if (first)
      out.push(
        `${name}, round ${first.index + 1}, as a subscriber saw it${first.run.route ? ` (${first.run.route.path})` : ""}: ${first.report.events.join("; ")}`,
      );
  }
  return out;
}

/** An event loop without a turn for this long misses a relay heartbeat (1 s by default). */
const STALL_WORTH_NOTING_MS = 1000;

function count(n: number, noun: string): string {
  return `${fmt.int(n)} ${noun}${n === 1 ? "" : "s"}`;
}

function routeTag(run: PubSubRound): string {
  return run.route ? ` (${run.route.path})` : "";
}

export function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * A zero-loss row of the summary: the worst subscriber's share of the measured messages over every round,
 * and the drops, beside the baseline's (NATS).
 */
export function lossRow(figure: string, ours: LossCell | null, baseline: LossCell | null): SummaryRow {
  const show = (cell: LossCell | null) => {
    if (!cell) return "failed";
    const { share, drops } = worstShare(cell);
    return `${fmt.fixed(share * 100, 1)}%, ${count(drops, "drop")}`;
  };
  const ok = ours ? worstShare(ours).share >= 1 && worstShare(ours).drops === 0 : null;
  return {
    figure,
    ours: show(ours),
    versus: baseline ? "NATS" : "",
    baseline: baseline ? show(baseline) : "",
    ratio: NaN,
    goal: goals.all("100%, 0 drops", ok),
  };
}
