// Publish/subscribe throughput: publisher, server and subscriber each in their own process (on the
// three-relay backbone, the publisher on relay A and the subscriber on relay C). The figure is what the
// subscriber received per second, timed in the subscriber from the first to the last measured message.

import type { PublishResult, SubscriberReport, System } from "../protocol.ts";
import { startRole } from "../lib/roles.ts";
import type { Role } from "../lib/roles.ts";
import { startServer } from "../lib/servers.ts";
import type { Route, Server } from "../lib/servers.ts";

export const TOPIC = "bench-topic";

export interface PubSubPlan {
  size: number;
  warmup: number;
  count: number;
}

export interface PubSubResult {
  system: System;
  plan: PubSubPlan;
  /** Measured messages the subscriber received per second. */
  receivedPerSecond: number;
  /** Measured messages the publisher handed to its client per second. */
  publishedPerSecond: number;
  report: SubscriberReport;
  /** Times the publisher's connection dropped while it published, and the first few reasons. */
  publisherDrops: number;
  publisherDropReasons: string[];
  /** The longest the publisher's event loop went without a turn while publishing. */
  publisherLongestStallMs: number;
  /** Roles' secretbox backends (meaningful for iris-mesh only). */
  secretbox: string[];
  serverWarnings: string[];
  /** The way through the backbone (three-relay iris-mesh only). */
  route: Route | null;
}

/** How long the subscriber may go without a new message, after the publisher is done, before we stop waiting. */
const QUIET_MS = 2000;
const POLL_MS = 100;
const PUBLISH_TIMEOUT_MS = 90_000;

export async function runPubSub(
  system: System,
  plan: PubSubPlan,
  keys: Record<string, string>,
  natsBinary: string | null,
): Promise<PubSubResult> {
  let server: Server | null = null;
  const roles: Role[] = [];
  try {
    server = await startServer(system, keys, natsBinary);
    const [subscriber, publisher] = await Promise.all([startRole("subscriber"), startRole("publisher")]);
    roles.push(subscriber, publisher);
    await Promise.all([subscriber.call("connect", server.receiver), publisher.call("connect", server.sender)]);
    // Subscribed (confirmed by the server, and on a backbone known along the way from the publisher's
    // relay) before the first publish, so nothing is lost to a race.
    await subscriber.call("subscribe", { subject: TOPIC, size: plan.size, warmup: plan.warmup });
    const route = await server.routeReady("topic");
    const published = await publisher.call<PublishResult>("publish", { subject: TOPIC, ...plan }, PUBLISH_TIMEOUT_MS);
    const waited = await waitForSubscriber(subscriber, plan.warmup + plan.count);
    const name = (texts: string[]) => texts.map((text) => server!.name(text));
    const report = { ...waited, dropReasons: name(waited.dropReasons), events: name(waited.events) };
    const seconds = (report.lastAt - report.firstAt) / 1000;
    return {
      system,
      plan,
      // n messages span n-1 inter-arrival gaps.
      receivedPerSecond: report.received > 1 && seconds > 0 ? (report.received - 1) / seconds : NaN,
      publishedPerSecond: published.sent / (published.elapsedMs / 1000),
      report,
      publisherDrops: published.drops,
      publisherDropReasons: name(published.dropReasons),
      publisherLongestStallMs: published.longestStallMs,
      secretbox: roles.map((role) => role.ready.secretbox),
      serverWarnings: server.warnings(),
      route,
    };
  } finally {
    await Promise.all(roles.map((role) => role.stop()));
    await server?.stop();
  }
}

/** Resolves once the subscriber has everything, or has heard nothing new for a while (a loss). */
async function waitForSubscriber(subscriber: Role, expected: number): Promise<SubscriberReport> {
  let last = -1;
  let quietSince = performance.now();
  for (;;) {
    const report = await subscriber.call<SubscriberReport>("report");
    const total = report.received + report.warmupReceived;
    if (total >= expected) return report;
    if (total !== last) {
      last = total;
      quietSince = performance.now();
    } else if (performance.now() - quietSince > QUIET_MS) {
      return report;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
