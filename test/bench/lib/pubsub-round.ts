// One round of publish/subscribe: a server (or three relays), one publisher and N subscribers, each in
// its own process. The publisher publishes for a while as warm-up, the subscribers catch up, and then it
// publishes for the measured phase as fast as its client's flow control allows, while the CPU every
// process spends is metered. On three relays the publisher is on relay A and the subscribers on relay C.

import type { PayloadKind, PublishResult, SubscriberReport, System } from "../protocol.ts";
import { meterCpu, perUnit } from "./cpu.ts";
import type { CpuPerUnit, MeteredProcess } from "./cpu.ts";
import type { RolePool } from "./role-pool.ts";
import type { Role } from "./roles.ts";
import { startServer } from "./servers.ts";
import type { RelayStats, Route, Server } from "./servers.ts";

export interface PubSubPlan {
  topic: string;
  size: number;
  payload: PayloadKind;
  subscribers: number;
  warmupMs: number;
  measureMs: number;
  /** Stops the first subscriber's process (SIGSTOP) this far into the measured phase, for this long. */
  stall?: { afterMs: number; forMs: number };
}

/** What became of a subscriber stopped in the middle of the measured phase. */
export interface Stall {
  /** From the stop to the server cutting the stopped subscriber off (as its log or counters say); null if it did not. */
  cutAfterMs: number | null;
  /** How the cut was seen: the server's log line, or its counters. */
  cutSeenIn: string;
}

export interface PubSubRound {
  system: System;
  plan: PubSubPlan;
  /** Measured messages published. */
  sent: number;
  /** Warm-up messages published. */
  warmupSent: number;
  publishedPerSecond: number;
  /** Measured messages delivered per second, all subscribers together, from the first to the last. */
  deliveredPerSecond: number;
  /** Each subscriber's own rate, first to last of its measured messages. */
  perSubscriberPerSecond: number[];
  /** Measured messages delivered, all subscribers together. */
  delivered: number;
  reports: SubscriberReport[];
  publisherDrops: number;
  publisherDropReasons: string[];
  publisherLongestStallMs: number;
  /** CPU µs per message delivered, process by process, over the measured phase. */
  cpu: CpuPerUnit;
  /** Frames a relay's full queue refused and peers it cut as slow consumers, over the measured phase. */
  relayDrops: number;
  relayDisconnects: number;
  /** Bytes per measured publish as it entered the first relay (sealed, compressed above 4 KiB). */
  wireBytesPerMessage: number;
  secretbox: string[];
  serverWarnings: string[];
  route: Route | null;
  stall: Stall | null;
}

/** How long subscribers may go without a new message, after the publisher is done, before we stop waiting. */
const QUIET_MS = 2000;
const POLL_MS = 100;
const PUBLISH_TIMEOUT_MS = 120_000;

export async function runPubSubRound(
  system: System,
  plan: PubSubPlan,
  keys: Record<string, string>,
  natsBinary: string | null,
  pool: RolePool,
): Promise<PubSubRound> {
  let server: Server | null = null;
  const roles: Role[] = [];
  try {
    server = await startServer(system, keys, natsBinary);
    const started = await pool.take([
      "publisher",
      ...Array.from({ length: plan.subscribers }, () => "subscriber" as const),
    ]);
    roles.push(...started);
    const [publisher, ...subscribers] = started as [Role, ...Role[]];
    await Promise.all([
      publisher.call("connect", server.sender),
      ...subscribers.map((subscriber) => subscriber.call("connect", server!.receiver)),
    ]);
    // Subscribed (confirmed by the server, and on a backbone known along the way from the publisher's
    // relay) before the first publish, so nothing is lost to a race.
    await Promise.all(subscribers.map((s) => s.call("subscribe", { subject: plan.topic, size: plan.size })));
    const route = await server.routeReady("topic", plan.subscribers);

    const publish = (from: number, durationMs: number) =>
      publisher.call<PublishResult>(
        "publish",
        { subject: plan.topic, size: plan.size, payload: plan.payload, from, durationMs },
        PUBLISH_TIMEOUT_MS,
      );
    const warmup = await publish(0, plan.warmupMs);
    await waitForSubscribers(subscribers, warmup.sent);
    await Promise.all(subscribers.map((s) => s.call("measure", { from: warmup.sent })));

    const processes: MeteredProcess[] = [
      { name: "publisher", pid: publisher.ready.pid },
      ...server.processes(),
      ...subscribers.map((s, index) => ({
        name: plan.subscribers === 1 ? "subscriber" : `subscriber ${index + 1}`,
        pid: s.ready.pid,
      })),
    ];
    const statsBefore = await server.stats();
    const meter = meterCpu(processes);
    const publishing = publish(warmup.sent, plan.measureMs);
    const stall = plan.stall ? await stallSubscriber(server, subscribers[0]!, plan.stall) : null;
    const published = await publishing;
    const waited = await waitForSubscribers(subscribers, warmup.sent + published.sent);
    const usage = meter.stop();
    const statsAfter = await server.stats();

    const name = (texts: string[]) => texts.map((text) => server!.name(text));
    const reports = waited.map((report) => ({
      ...report,
      dropReasons: name(report.dropReasons),
      events: name(report.events),
    }));
    const delivered = reports.reduce((sum, report) => sum + report.received, 0);
    const measured = reports.filter((report) => report.received > 0);
    const spanMs =
      Math.max(...measured.map((report) => report.lastAt)) - Math.min(...measured.map((report) => report.firstAt));
    const traffic = relayTraffic(statsBefore, statsAfter);
    return {
      system,
      plan,
      sent: published.sent,
      warmupSent: warmup.sent,
      publishedPerSecond: published.sent / (published.elapsedMs / 1000),
      deliveredPerSecond: measured.length && spanMs > 0 ? delivered / (spanMs / 1000) : NaN,
      perSubscriberPerSecond: reports.map((report) =>
        report.received > 1 && report.lastAt > report.firstAt
          ? (report.received - 1) / ((report.lastAt - report.firstAt) / 1000)
          : NaN,
      ),
      delivered,
      reports,
      publisherDrops: warmup.drops + published.drops,
      publisherDropReasons: name(published.dropReasons),
      publisherLongestStallMs: Math.max(warmup.longestStallMs, published.longestStallMs),
      cpu: perUnit(usage, delivered),
      relayDrops: traffic.drops,
      relayDisconnects: traffic.disconnects,
      wireBytesPerMessage: traffic.publishBytesIn / published.sent,
      secretbox: roles.map((role) => role.ready.secretbox),
      serverWarnings: server.warnings(),
      route,
      stall,
    };
  } finally {
    await pool.giveBack(roles);
    await server?.stop();
  }
}

const STALL_POLL_MS = 50;
const SLOW_CONSUMER_LINE = /slow.?consumer/i;

/**
 * Stops the subscriber's process for a while, watching the server meanwhile for the moment it cuts the
 * subscriber off: a slow-consumer line in its log (both relays and nats-server write one), a relay's
 * count of slow consumers going up, or one peer fewer attached to the relays (a relay that declares the
 * stopped peer dead for want of heartbeats logs nothing at --log-level info).
 */
async function stallSubscriber(
  server: Server,
  subscriber: Role,
  stall: { afterMs: number; forMs: number },
): Promise<Stall> {
  await new Promise((resolve) => setTimeout(resolve, stall.afterMs));
  const linesBefore = server.lines().filter((line) => SLOW_CONSUMER_LINE.test(line)).length;
  const before = await server.stats();
  const cutsBefore = sumCuts(before);
  const peersBefore = sumPeers(before);
  const stopped = performance.now();
  process.kill(subscriber.ready.pid, "SIGSTOP");
  let cutAfterMs: number | null = null;
  let cutSeenIn = "";
  try {
    while (performance.now() - stopped < stall.forMs) {
      await new Promise((resolve) => setTimeout(resolve, STALL_POLL_MS));
      if (cutAfterMs !== null) continue;
      if (server.lines().filter((line) => SLOW_CONSUMER_LINE.test(line)).length > linesBefore) {
        cutAfterMs = performance.now() - stopped;
        cutSeenIn = "the server's log";
        continue;
      }
      const now = await server.stats();
      if (sumCuts(now) > cutsBefore) {
        cutAfterMs = performance.now() - stopped;
        cutSeenIn = "the relays' slow-consumer counters";
      } else if (sumPeers(now) < peersBefore) {
        cutAfterMs = performance.now() - stopped;
        cutSeenIn = "the relays' peer count (no heartbeat, say)";
      }
    }
  } finally {
    process.kill(subscriber.ready.pid, "SIGCONT");
  }
  return { cutAfterMs, cutSeenIn };
}

/** Peers attached to the relays: one fewer once a relay lets the stopped subscriber go, for any reason. */
function sumPeers(stats: RelayStats[]): number {
  return stats.reduce((sum, one) => sum + (one.stats?.peers ?? 0), 0);
}

function sumCuts(stats: RelayStats[]): number {
  return stats.reduce(
    (sum, one) => sum + (one.stats?.slowConsumerDisconnects ?? 0) + (one.stats?.slowConsumerDrops ?? 0),
    0,
  );
}

/**
 * Resolves once every subscriber has `expected` messages in all (warm-up and measured), or none has
 * heard anything new for a while (a loss).
 */
async function waitForSubscribers(subscribers: Role[], expected: number): Promise<SubscriberReport[]> {
  let last = -1;
  let quietSince = performance.now();
  for (;;) {
    const reports = await Promise.all(subscribers.map((s) => s.call<SubscriberReport>("report")));
    const totals = reports.map((report) => report.received + report.warmupReceived);
    if (totals.every((total) => total >= expected)) return reports;
    const sum = totals.reduce((a, b) => a + b, 0);
    if (sum !== last) {
      last = sum;
      quietSince = performance.now();
    } else if (performance.now() - quietSince > QUIET_MS) {
      return reports;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** What the relays counted between two reports: slow-consumer drops, and publish bytes entering the first. */
function relayTraffic(
  before: RelayStats[],
  after: RelayStats[],
): { drops: number; disconnects: number; publishBytesIn: number } {
  let drops = 0;
  let disconnects = 0;
  for (const [index, now] of after.entries()) {
    const then = before[index]?.stats;
    if (!now.stats || !then) continue;
    drops += now.stats.slowConsumerDrops - then.slowConsumerDrops;
    disconnects += now.stats.slowConsumerDisconnects - then.slowConsumerDisconnects;
  }
  // The publisher's relay (the only one, or relay A) sees each publish come in once from its peer.
  const first = (stats: RelayStats | undefined) => stats?.stats?.byKind?.Publish?.bytesIn ?? NaN;
  return { drops, disconnects, publishBytesIn: first(after[0]) - first(before[0]) };
}
