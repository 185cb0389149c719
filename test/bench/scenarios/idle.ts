// Idle peers: what 10,000 attached peers that do nothing cost one relay, against 200. The peers are real
// connections (their own identities and WebSockets), held by a few processes; a requester and a member
// in their own processes time request round trips through the same relay.
//
// Per phase (200 peers, then 10,000): the relay's CPU at idle (% of one core, from /proc, over a window
// longer than the peer heartbeat, so it holds every idle peer's ping), its resident memory, the pings it
// sent per second, and request latency over a fixed duration (so that whatever the relay does
// periodically lands among the samples).

import type { IdleOpenResult, IdleStatus, RequestRunResult } from "../protocol.ts";
import { cpuPercentOver, rssBytes } from "../lib/proc.ts";
import { startRole } from "../lib/roles.ts";
import type { Role } from "../lib/roles.ts";
import { startLoneRelay } from "../lib/servers.ts";
import type { Logged } from "../lib/servers.ts";

export const IDLE_SERVICE = "bench-idle-echo";

export interface IdlePlan {
  /** Peers attached in each phase, the requester and the member included. */
  phases: number[];
  /** Processes holding the idle peers. */
  holders: number;
  /** Connections each holder opens at once. */
  concurrency: number;
  /** After the peers are attached, before measuring: the connection storm settles. */
  settleMs: number;
  /** The window over which the relay's CPU is measured at idle. */
  cpuWindowMs: number;
  request: { size: number; warmup: number; durationMs: number; timeoutMs: number };
}

export interface IdlePhase {
  peers: number;
  /** Idle peers attached when measured (of peers - 2). */
  attached: number;
  openMs: number;
  openFailures: number;
  cpuPercent: number;
  rssBytes: number;
  pingsPerSecond: number;
  samplesUs: number[];
  requestFailures: number;
  firstFailure: string | null;
  /** Idle peers that lost their relay during the phase. */
  drops: number;
  dropReasons: string[];
}

export interface IdleResult {
  plan: IdlePlan;
  phases: IdlePhase[];
  relayWarnings: string[];
}

/** The relay admits every idle peer from 127.0.0.1, and as many handshakes at once as the holders make. */
function relayArgs(plan: IdlePlan): string[] {
  const peers = Math.max(...plan.phases);
  return [
    "--max-links-per-address",
    String(peers * 2),
    "--max-handshakes-per-address",
    String(plan.holders * plan.concurrency * 2),
  ];
}

export async function runIdle(plan: IdlePlan, keys: Record<string, string>): Promise<IdleResult> {
  let relay: Logged | null = null;
  const roles: Role[] = [];
  try {
    relay = await startLoneRelay(relayArgs(plan));
    const endpoint = { system: "iris" as const, relay: relay.match, keys };
    const [responder, requester, ...holders] = await Promise.all([
      startRole("responder"),
      startRole("requester"),
      ...Array.from({ length: plan.holders }, () => startRole("idle-peers")),
    ]);
    roles.push(responder!, requester!, ...holders);
    await Promise.all([responder!.call("connect", endpoint), requester!.call("connect", endpoint)]);
    await responder!.call("serve", { subject: IDLE_SERVICE });

    const phases: IdlePhase[] = [];
    let idle = 0;
    for (const peers of plan.phases) {
      const target = peers - 2;
      const opened = await openIdle(holders, relay.match, keys, idle, target - idle, plan.concurrency);
      idle = target;
      await new Promise((resolve) => setTimeout(resolve, plan.settleMs));
      const statusUrl = `${relay.match.replace(/^ws/, "http")}/status`;
      const pingsBefore = await pingsSent(statusUrl);
      const started = performance.now();
      const cpuPercent = await cpuPercentOver(relay.pid, plan.cpuWindowMs);
      const pingsPerSecond = ((await pingsSent(statusUrl)) - pingsBefore) / ((performance.now() - started) / 1000);
      const rss = rssBytes(relay.pid);
      const run = await requester!.call<RequestRunResult>(
        "run",
        { subject: IDLE_SERVICE, count: 0, ...plan.request },
        plan.request.durationMs + 60_000,
      );
      const statuses = await Promise.all(holders.map((holder) => holder.call<IdleStatus>("status")));
      phases.push({
        peers,
        attached: statuses.reduce((sum, status) => sum + status.attached, 0),
        openMs: opened.elapsedMs,
        openFailures: opened.failed,
        cpuPercent,
        rssBytes: rss,
        pingsPerSecond,
        samplesUs: run.samplesUs,
        requestFailures: run.failures,
        firstFailure: run.firstFailure ?? opened.firstFailure,
        drops: statuses.reduce((sum, status) => sum + status.drops, 0),
        dropReasons: statuses.flatMap((status) => status.dropReasons).slice(0, 5),
      });
    }
    return {
      plan,
      phases,
      relayWarnings: relay.lines().filter((line) => line !== "" && !/relay-listening/.test(line)),
    };
  } finally {
    await Promise.all(roles.map((role) => role.stop()));
    await relay?.stop();
  }
}

/** Opens `count` more idle peers, spread evenly over the holders. */
async function openIdle(
  holders: Role[],
  relay: string,
  keys: Record<string, string>,
  already: number,
  count: number,
  concurrency: number,
): Promise<IdleOpenResult> {
  const started = performance.now();
  const shares = holders.map((_, index) => {
    // Peer number n goes to holder n % holders: the shares of peers already..already+count.
    let share = 0;
    for (let n = already; n < already + count; n++) if (n % holders.length === index) share++;
    return share;
  });
  const results = await Promise.all(
    holders.map((holder, index) =>
      shares[index]! > 0
        ? holder.call<IdleOpenResult>("open", { relay, keys, count: shares[index]!, concurrency }, 600_000)
        : Promise.resolve({ opened: 0, failed: 0, firstFailure: null, elapsedMs: 0 }),
    ),
  );
  return {
    opened: results.reduce((sum, result) => sum + result.opened, 0),
    failed: results.reduce((sum, result) => sum + result.failed, 0),
    firstFailure: results.find((result) => result.firstFailure)?.firstFailure ?? null,
    elapsedMs: performance.now() - started,
  };
}

/** Pings the relay has sent so far, from its status page. */
async function pingsSent(statusUrl: string): Promise<number> {
  const response = await fetch(statusUrl, { signal: AbortSignal.timeout(30_000) });
  const report = (await response.json()) as { stats?: { byKind?: Record<string, { framesOut: number }> } };
  return report.stats?.byKind?.Ping?.framesOut ?? 0;
}
