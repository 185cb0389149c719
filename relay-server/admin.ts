// The admin listener: a relay's status report and metrics, for its operator only. The public port
// serves peers and relays, and anyone who can reach it; what the report lists (peer ids, remote
// addresses, cluster ids, the tree of every service) is for the operator, so it has a listener of its
// own, on loopback unless told otherwise, and off unless --admin-port is given.
//
//   GET /status    the relay's report as JSON (links, peers, trees, stats), with its memory
//   GET /metrics   Prometheus text
//   GET /healthz   200 while the process answers
//   GET /readyz    200 when ready, 503 with the reasons when not
//
// With --admin-token every request must carry `Authorization: Bearer <token>` (required off loopback).
// Without one, only requests addressed to a loopback name or an IP address are answered: a web page the
// operator happens to open cannot rebind its own host name to 127.0.0.1 and read the report.

import { createHash, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import type { HealthState } from "./health.ts";
import { respond, serveProbe } from "./health.ts";

export interface AdminRoutes {
  /** The report for /status (a JSON-ready object). */
  status(options: { collectGarbage: boolean }): unknown;
  metrics(): Promise<{ contentType: string; body: string }>;
  health(): HealthState;
}

export interface AdminOptions {
  host: string;
  port: number;
  token: string | null;
  routes: AdminRoutes;
}

export interface AdminListener {
  readonly url: string;
  close(): Promise<void>;
}

export function listenAdmin(options: AdminOptions): Promise<AdminListener> {
  const server = createServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      if (!response.headersSent) respond(response, 500, `${(error as Error).message}\n`);
      else response.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : options.port;
      const host = options.host.includes(":") ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${host}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function handle(options: AdminOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (options.token !== null) {
    if (!bearerMatches(request.headers.authorization, options.token)) {
      response.setHeader("www-authenticate", 'Bearer realm="iris-relay admin"');
      return respond(response, 401, "this listener wants Authorization: Bearer <the admin token>\n");
    }
  } else if (!addressedLocally(request.headers.host)) {
    return respond(response, 403, "address this listener by IP address or localhost, or give it an admin token\n");
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("allow", "GET, HEAD");
    return respond(response, 405, "GET only\n");
  }
  const url = new URL(request.url ?? "/", "http://admin");
  if (serveProbe(url.pathname, options.routes.health, response, true)) return;
  if (url.pathname === "/status") {
    const report = options.routes.status({ collectGarbage: url.searchParams.get("gc") === "1" });
    return respond(response, 200, JSON.stringify(report), "application/json");
  }
  if (url.pathname === "/metrics") {
    const { contentType, body } = await options.routes.metrics();
    return respond(response, 200, body, contentType);
  }
  respond(response, 404, "not here: /status, /metrics, /healthz and /readyz are\n");
}

/** Compares in constant time, whatever the lengths: both sides are hashed first. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? "")?.[1] ?? "";
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** A Host header naming an IP address or localhost (with or without a port), not a domain name. */
function addressedLocally(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  return name === "localhost" || isIP(name) !== 0;
}
