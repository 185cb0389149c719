// Request/reply latency, one request at a time: requester, server and responder each in their own
// process (on the three-relay backbone, the requester on relay A and the responder on relay C). Every
// round trip is timed in the requester.

import type { RequestRunResult, System } from "../protocol.ts";
import { startRole } from "../lib/roles.ts";
import type { Role } from "../lib/roles.ts";
import { startServer } from "../lib/servers.ts";
import type { Route, Server } from "../lib/servers.ts";

export const SERVICE = "bench-echo";

export interface RequestReplyPlan {
  size: number;
  warmup: number;
  count: number;
  timeoutMs: number;
}

export interface RequestReplyResult {
  system: System;
  plan: RequestReplyPlan;
  /** Round-trip times of the measured requests, in microseconds. */
  samplesUs: number[];
  failures: number;
  firstFailure: string | null;
  secretbox: string[];
  serverWarnings: string[];
  /** The way through the backbone (three-relay iris-mesh only). */
  route: Route | null;
}

const RUN_TIMEOUT_MS = 90_000;

export async function runRequestReply(
  system: System,
  plan: RequestReplyPlan,
  keys: Record<string, string>,
  natsBinary: string | null,
): Promise<RequestReplyResult> {
  let server: Server | null = null;
  const roles: Role[] = [];
  try {
    server = await startServer(system, keys, natsBinary);
    const [responder, requester] = await Promise.all([startRole("responder"), startRole("requester")]);
    roles.push(responder, requester);
    await Promise.all([responder.call("connect", server.receiver), requester.call("connect", server.sender)]);
    await responder.call("serve", { subject: SERVICE });
    const route = await server.routeReady("cluster");
    const run = await requester.call<RequestRunResult>("run", { subject: SERVICE, ...plan }, RUN_TIMEOUT_MS);
    return {
      system,
      plan,
      samplesUs: run.samplesUs,
      failures: run.failures,
      firstFailure: run.firstFailure,
      secretbox: roles.map((role) => role.ready.secretbox),
      serverWarnings: server.warnings(),
      route,
    };
  } finally {
    await Promise.all(roles.map((role) => role.stop()));
    await server?.stop();
  }
}
