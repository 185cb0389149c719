// The dashboard's production build, kept in memory. Vite builds the page (the browser entry of core,
// uPlot, the app) and hands the files back instead of writing them: nothing lands in a temporary
// folder, so nothing is left behind however the stack ends, and two stacks never share a build.

import path from "node:path";
import { build } from "vite";

const CONFIG_FILE = path.join(import.meta.dirname, "vite.config.ts");

export interface BuiltFile {
  body: Uint8Array;
  type: string;
  /** Its name carries a hash of its content (Vite's assets/), so it may be cached forever. */
  hashed: boolean;
}

/** The build's files by URL path ("/index.html", "/assets/index-1a2b3c.js"). */
export type DashboardFiles = ReadonlyMap<string, BuiltFile>;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".map": "application/json",
};

export async function buildDashboard(): Promise<DashboardFiles> {
  const result = await build({ configFile: CONFIG_FILE, logLevel: "warn", build: { write: false } });
  const outputs = Array.isArray(result) ? result : [result];
  const files = new Map<string, BuiltFile>();
  const encoder = new TextEncoder();
  for (const output of outputs) {
    if (!("output" in output)) throw new Error("the dashboard build unexpectedly started watching");
    for (const item of output.output) {
      const body =
        item.type === "chunk"
          ? encoder.encode(item.code)
          : typeof item.source === "string"
            ? encoder.encode(item.source)
            : item.source;
      files.set(`/${item.fileName}`, {
        body,
        type: TYPES[path.extname(item.fileName)] ?? "application/octet-stream",
        hashed: item.fileName.startsWith("assets/"),
      });
    }
  }
  if (!files.has("/index.html")) throw new Error("the dashboard build has no index.html");
  return files;
}
