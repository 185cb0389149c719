// The relay controls the dashboard offers in development mode: GET /api/relays (each relay's process
// state) and POST /api/relays/<n>/stop?mode=kill|drain and /api/relays/<n>/start. They stop and start
// processes on this machine, so they answer only what is plainly the person at this machine's own page:
//
// - the caller is on a loopback address (even if the page is served on another interface);
// - the Host header names a loopback address or localhost (a DNS-rebinding page has another name);
// - for changes, the custom header `x-iris-control: 1` is present: a page of another origin cannot
//   send it without a CORS preflight, which this server never grants; and an Origin, if any, is ours.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { RelayStatus, StopMode } from "./relay-process.ts";

export interface RelayControl {
  statuses(): RelayStatus[];
  stop(index: number, mode: StopMode): Promise<void>;
  restart(index: number): Promise<void>;
}

export const CONTROL_HEADER = "x-iris-control";
const LOOPBACK_HOST = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?$/;

/** Handles /api/relays...; returns false for any other path. */
export function serveRelayControl(
  control: RelayControl | null,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (url.pathname !== "/api/relays" && !url.pathname.startsWith("/api/relays/")) return false;
  answer(control, url, request, response);
  return true;
}

function answer(control: RelayControl | null, url: URL, request: IncomingMessage, response: ServerResponse): void {
  if (!control) return reply(response, 404, { error: "relay controls are off (IRIS_CONTROLS=0)" });
  const refusal = refusalOf(request);
  if (refusal) return reply(response, 403, { error: refusal });
  if (request.method === "GET" && url.pathname === "/api/relays") {
    return reply(response, 200, { relays: control.statuses() });
  }
  const action = /^\/api\/relays\/(\d{1,3})\/(stop|start)$/.exec(url.pathname);
  if (!action) return reply(response, 404, { error: "no such control" });
  if (request.method !== "POST") return reply(response, 405, { error: "use POST" });
  if (request.headers[CONTROL_HEADER] !== "1") {
    return reply(response, 403, { error: `changes need the ${CONTROL_HEADER} header (sent by the dashboard)` });
  }
  const index = Number(action[1]);
  const relay = control.statuses().find((status) => status.index === index);
  if (!relay) return reply(response, 404, { error: `no relay ${index}` });
  const mode = url.searchParams.get("mode") ?? "kill";
  if (action[2] === "stop" && mode !== "kill" && mode !== "drain") {
    return reply(response, 400, { error: "mode must be kill or drain" });
  }
  const expected = action[2] === "stop" ? "up" : "down";
  if (relay.state !== expected) return reply(response, 409, { error: `${relay.name} is ${relay.state}` });
  // The answer waits for the process: stopped (gone), or started (listening), or why not.
  const done = action[2] === "stop" ? control.stop(index, mode as StopMode) : control.restart(index);
  done.then(
    () => reply(response, 200, { relay: control.statuses().find((status) => status.index === index) }),
    (error: unknown) => reply(response, 500, { error: (error as Error).message.split("\n")[0] }),
  );
}

/** Why this request may not use the controls, or null if it may. */
export function refusalOf(request: Pick<IncomingMessage, "headers" | "socket">): string | null {
  const remote = request.socket.remoteAddress ?? "";
  if (!isLoopback(remote)) return "relay controls answer only on this machine (loopback)";
  const host = request.headers.host ?? "";
  if (!LOOPBACK_HOST.test(host)) return "relay controls answer only to a page addressed by a loopback name";
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`)
    return "relay controls answer only to the dashboard's own page";
  return null;
}

function isLoopback(address: string): boolean {
  return address === "::1" || /^(::ffff:)?127\./.test(address);
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify(body));
}
