// Serves the dashboard: the in-memory build (dashboard-build.ts), /iris-config.json (where the page
// finds its relays, and whether it may offer relay controls), and the relay controls themselves
// (relay-control.ts). Nothing secret is served: keys stay in the page's URL fragment, which browsers
// never send.
//
// Caching: files under assets/ carry a hash of their content in their names, so browsers may keep them
// for a year without asking again; index.html, which names the current ones, is revalidated each time.

import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { buildDashboard } from "./dashboard-build.ts";
import type { DashboardFiles } from "./dashboard-build.ts";
import { serveRelayControl } from "./relay-control.ts";
import type { RelayControl } from "./relay-control.ts";

/** Open keep-alive connections are cut after this when the server closes. */
const CLOSE_GRACE_MS = 1000;
/** The docs the page links to: the project's README, as text. */
const README = new URL("../README.md", import.meta.url);
export const IMMUTABLE = "public, max-age=31536000, immutable";

export interface DashboardConfig {
  /** Relay addresses the page dials, in the order it may try them. */
  relays: string[];
  /** ICE candidate addresses for the page's direct links; null for all. */
  candidates: string[] | null;
}

export interface DashboardServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startDashboard(options: {
  host: string;
  port: number;
  config: DashboardConfig;
  /** Relay stop and start, in development mode; null leaves the page without them. */
  control: RelayControl | null;
  /** A build made already (tests share one); built here otherwise. */
  files?: DashboardFiles;
}): Promise<DashboardServer> {
  const files = new Map(options.files ?? (await buildDashboard()));
  const readme = await readFile(README).catch(() => null);
  if (readme) files.set("/README.md", { body: readme, type: "text/plain; charset=utf-8", hashed: false });
  const config = JSON.stringify({ ...options.config, controls: options.control !== null });
  const server = createServer((request, response) => {
    try {
      if (serveRelayControl(options.control, request, response)) return;
      serveFile(files, config, request, response);
    } catch (error) {
      response.writeHead(500, { "content-type": "text/plain" }).end(`${(error as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the dashboard server reports no address");
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      }),
  };
}

function serveFile(files: DashboardFiles, config: string, request: IncomingMessage, response: ServerResponse): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (path === "/iris-config.json") {
    send(request, response, 200, { "content-type": "application/json", "cache-control": "no-store" }, config);
    return;
  }
  const file = files.get(path === "/" ? "/index.html" : path);
  if (!file) {
    send(request, response, 404, { "content-type": "text/plain", "cache-control": "no-store" }, "not found\n");
    return;
  }
  send(
    request,
    response,
    200,
    {
      "content-type": file.type,
      "cache-control": file.hashed ? IMMUTABLE : "no-cache",
      "x-content-type-options": "nosniff",
    },
    file.body,
  );
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Uint8Array,
): void {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  response.writeHead(status, { ...headers, "content-length": String(bytes.length) });
  response.end(request.method === "HEAD" ? undefined : bytes);
}
