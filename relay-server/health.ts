// Whether a relay is alive and whether it should be given traffic: what /healthz and /readyz answer
// (load balancers, Kubernetes probes, people with curl), on the public port and on the admin listener.
//
// Alive: the process answers at all. Ready: it is listening, it is not draining, and, when it was given
// seeds, it is linked to the backbone: a relay cut off from the others would accept peers it cannot
// route for (a first relay with no seeds is ready alone).

import type { ServerResponse } from "node:http";

export interface HealthState {
  listening: boolean;
  draining: boolean;
  seeds: number;
  relayLinks: number;
}

export interface Readiness {
  ready: boolean;
  /** Why not, for people: empty when ready. */
  reasons: string[];
}

export function readiness(state: HealthState): Readiness {
  const reasons: string[] = [];
  if (!state.listening) reasons.push("not listening");
  if (state.draining) reasons.push("draining");
  if (state.seeds > 0 && state.relayLinks === 0) reasons.push(`no link to the backbone yet (${state.seeds} seeds)`);
  return { ready: reasons.length === 0, reasons };
}

/**
 * Answers /healthz or /readyz, if `path` is one; false for any other path. `detailed` adds the reasons
 * a relay is not ready: the admin listener says them, the public port only says "not ready".
 */
export function serveProbe(
  path: string,
  state: () => HealthState,
  response: ServerResponse,
  detailed: boolean,
): boolean {
  if (path === "/healthz") {
    respond(response, 200, "ok\n");
    return true;
  }
  if (path !== "/readyz") return false;
  const { ready, reasons } = readiness(state());
  respond(
    response,
    ready ? 200 : 503,
    ready ? "ready\n" : detailed ? `not ready: ${reasons.join("; ")}\n` : "not ready\n",
  );
  return true;
}

export function respond(
  response: ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
): void {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  response.end(body);
}
