// Chromium for the browser scenario: found (CHROMIUM_PATH, else Debian's /usr/bin/chromium), launched
// by Playwright with flags that keep it off the internet and allow WebRTC on loopback, with the bench
// page (test/bench/browser/) built and served by Vite on 127.0.0.1.

import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "@playwright/test";
import type { Browser, BrowserContext, Page } from "@playwright/test";
import { build, preview } from "vite";
import type { MeteredProcess } from "./cpu.ts";
import { isExecutable } from "./servers.ts";
import { CHROMIUM_ARGS } from "../../fixtures/chromium-args.ts";

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
}

/** Why Chromium cannot be used here, or null. */
export function chromiumMissing(): string | null {
  const found = chromiumPath();
  return isExecutable(found)
    ? null
    : `Chromium is not installed at ${found} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
}

export interface BenchBrowser {
  context: BrowserContext;
  /** A fresh page of the bench page, loaded and ready. */
  page(): Promise<Page>;
  /** Chromium and every process it started (renderers, GPU, network service), to charge CPU to. */
  processes(): MeteredProcess[];
  close(): Promise<void>;
}

export async function openBenchBrowser(): Promise<BenchBrowser> {
  const configFile = path.resolve(import.meta.dirname, "../browser/vite.config.ts");
  await build({ configFile, logLevel: "warn" });
  const server = await preview({ configFile, logLevel: "warn", preview: { port: 0, strictPort: false } });
  const url = server.resolvedUrls?.local[0];
  const closeServer = () => new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  if (!url) {
    await closeServer();
    throw new Error("vite preview has no local URL");
  }
  const before = new Set(childPids());
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: CHROMIUM_ARGS,
    });
  } catch (error) {
    await closeServer();
    throw error;
  }
  const root = childPids().find((pid) => !before.has(pid) && /chrom/i.test(commandOf(pid)));
  // Media permission makes Chromium offer its 127.0.0.1 candidate (see test/e2e/webrtc.spec.ts).
  const context = await browser.newContext({ permissions: ["camera", "microphone"] });
  return {
    context,
    async page() {
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
      return page;
    },
    processes: () => (root ? [{ name: "Chromium (all its processes)", pid: root, tree: true }] : []),
    async close() {
      await browser.close();
      await closeServer();
    },
  };
}

/** This process's children, by pid; none where there is no /proc. */
function childPids(): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid) out.push(pid);
    } catch {
      // Gone already.
    }
  }
  return out;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}
