// Rounds of request/reply, every role in its own process (on three relays the requester on relay A and
// the members on relay C): one request at a time, timing each round trip (latency); or many in flight
// over a cluster of members (a NATS queue group), counting replies per second (throughput). Members echo
// the request's body. CPU is metered over the measured phase in every process.

import type { LoadResult, RequestRunResult, ServeReport, System } from "../protocol.ts";
import { meterCpu, perUnit } from "./cpu.ts";
import type { CpuPerUnit, MeteredProcess } from "./cpu.ts";
import type { RolePool } from "./role-pool.ts";
import type { Role } from "./roles.ts";
import { startServer } from "./servers.ts";
import type { Route, Server } from "./servers.ts";

export interface LatencyPlan {
  service: string;
  size: number;
  warmup: number;
  count: number;
  timeoutMs: number;
}

export interface LatencyRound {
  system: System;
  plan: LatencyPlan;
  /** Round-trip times of the measured requests, in microseconds. */
  samplesUs: number[];
  failures: number;
  firstFailure: string | null;
  /** CPU µs per measured request, process by process. */
  cpu: CpuPerUnit;
  secretbox: string[];
  serverWarnings: string[];
  route: Route | null;
}

export interface LoadPlan {
  service: string;
  size: number;
  members: number;
  inflight: number;
  warmupMs: number;
  measureMs: number;
  timeoutMs: number;
}

export interface LoadRound {
  system: System;
  plan: LoadPlan;
  completed: number;
  requestsPerSecond: number;
  failures: number;
  firstFailure: string | null;
  /** Requests each member answered in the measured phase. */
  served: number[];
  /** CPU µs per request, process by process (all requests). */
  cpu: CpuPerUnit;
  /** Each member's CPU µs per request it answered itself. */
  memberCpu: number[];
  serverWarnings: string[];
  route: Route | null;
}

const RUN_TIMEOUT_MS = 120_000;
/** NATS members share the load by joining one queue group. */
const QUEUE_GROUP = "bench-members";

/** Starts the server, the requester and `members` echoing members, ready for the first request. */
async function setUp<T>(
  system: System,
  service: string,
  members: number,
  keys: Record<string, string>,
  natsBinary: string | null,
  pool: RolePool,
  use: (server: Server, requester: Role, responders: Role[], route: Route | null) => Promise<T>,
): Promise<T> {
  let server: Server | null = null;
  let roles: Role[] = [];
  try {
    server = await startServer(system, keys, natsBinary);
    roles = await pool.take(["requester", ...Array.from({ length: members }, () => "responder" as const)]);
    const [requester, ...responders] = roles as [Role, ...Role[]];
    await Promise.all([
      requester.call("connect", server.sender),
      ...responders.map((responder) => responder.call("connect", server!.receiver)),
    ]);
    await Promise.all(responders.map((responder) => responder.call("serve", { subject: service, group: QUEUE_GROUP })));
    const route = await server.routeReady("cluster", members);
    return await use(server, requester, responders, route);
  } finally {
    await pool.giveBack(roles);
    await server?.stop();
  }
}

function processesOf(server: Server, requester: Role, responders: Role[]): MeteredProcess[] {
  return [
    { name: "requester", pid: requester.ready.pid },
    ...server.processes(),
    ...responders.map((responder, index) => ({
      name: responders.length === 1 ? "member" : `member ${index + 1}`,
      pid: responder.ready.pid,
    })),
  ];
}

export async function runLatencyRound(
  system: System,
  plan: LatencyPlan,
  keys: Record<string, string>,
  natsBinary: string | null,
  pool: RolePool,
): Promise<LatencyRound> {
  return setUp(system, plan.service, 1, keys, natsBinary, pool, async (server, requester, responders, route) => {
    const run = (warmup: number, count: number) =>
      requester.call<RequestRunResult>(
        "run",
        { subject: plan.service, size: plan.size, warmup, count, timeoutMs: plan.timeoutMs },
        RUN_TIMEOUT_MS,
      );
    const warmup = await run(plan.warmup, 0);
    const meter = meterCpu(processesOf(server, requester, responders));
    const measured = await run(0, plan.count);
    const usage = meter.stop();
    return {
      system,
      plan,
      samplesUs: measured.samplesUs,
      failures: warmup.failures + measured.failures,
      firstFailure: warmup.firstFailure ?? measured.firstFailure,
      cpu: perUnit(usage, measured.samplesUs.length),
      secretbox: [requester, ...responders].map((role) => role.ready.secretbox),
      serverWarnings: server.warnings(),
      route,
    };
  });
}

export async function runLoadRound(
  system: System,
  plan: LoadPlan,
  keys: Record<string, string>,
  natsBinary: string | null,
  pool: RolePool,
): Promise<LoadRound> {
  return setUp(
    system,
    plan.service,
    plan.members,
    keys,
    natsBinary,
    pool,
    async (server, requester, responders, route) => {
      const load = (durationMs: number) =>
        requester.call<LoadResult>(
          "load",
          { subject: plan.service, size: plan.size, inflight: plan.inflight, durationMs, timeoutMs: plan.timeoutMs },
          RUN_TIMEOUT_MS,
        );
      const served = () =>
        Promise.all(responders.map(async (responder) => (await responder.call<ServeReport>("served")).served));
      const warmup = await load(plan.warmupMs);
      const servedBefore = await served();
      const meter = meterCpu(processesOf(server, requester, responders));
      const measured = await load(plan.measureMs);
      const usage = meter.stop();
      const servedInPhase = (await served()).map((count, index) => count - servedBefore[index]!);
      const cpu = perUnit(usage, measured.completed);
      const memberUsage = usage.perProcess.slice(-responders.length);
      return {
        system,
        plan,
        completed: measured.completed,
        requestsPerSecond: measured.completed / (measured.elapsedMs / 1000),
        failures: warmup.failures + measured.failures,
        firstFailure: warmup.firstFailure ?? measured.firstFailure,
        served: servedInPhase,
        cpu,
        memberCpu: memberUsage.map(({ micros }, index) =>
          servedInPhase[index]! > 0 ? micros / servedInPhase[index]! : NaN,
        ),
        serverWarnings: server.warnings(),
        route,
      };
    },
  );
}
