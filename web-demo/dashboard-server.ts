// Builds the dashboard for production and serves the build with Vite's preview server, plus one small
// file the page reads to find its relays: /iris-config.json. Nothing secret is served: keys stay in the
// page's URL fragment, which browsers never send.
//
// Each start builds into a fresh temporary directory, so two stacks (a person's and a test's) never
// share or half-overwrite a build, and a fresh clone needs nothing but `npm ci`.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { build, preview } from "vite";
import type { Plugin } from "vite";

const CONFIG_FILE = path.join(import.meta.dirname, "vite.config.ts");
/** Preview's close waits for open keep-alive connections; a stopping demo waits this long at most. */
const CLOSE_GRACE_MS = 2000;

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
}): Promise<DashboardServer> {
  const outDir = await mkdtemp(path.join(tmpdir(), "iris-dashboard-"));
  try {
    await build({ configFile: CONFIG_FILE, logLevel: "warn", build: { outDir, emptyOutDir: true } });
    const server = await preview({
      configFile: CONFIG_FILE,
      logLevel: "warn",
      build: { outDir },
      preview: { host: options.host, port: options.port, strictPort: true, open: false },
      plugins: [serveConfig(options.config)],
    });
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error("the dashboard server reports no address");
    return {
      url,
      close: async () => {
        await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS))]);
        await rm(outDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(outDir, { recursive: true, force: true });
    throw error;
  }
}

function serveConfig(config: DashboardConfig): Plugin {
  const body = JSON.stringify(config);
  return {
    name: "iris-dashboard-config",
    configurePreviewServer(server) {
      server.middlewares.use("/iris-config.json", (_request, response) => {
        response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        response.end(body);
      });
    },
  };
}
