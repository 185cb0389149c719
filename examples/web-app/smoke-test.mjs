// `npm test` (after `vite build`): serves the production build, opens it in two Chromium tabs that
// share the room's link, sends a message from one, and waits to see it in both. The relay comes from
// IRIS_RELAYS, the browser from CHROMIUM_PATH (default /usr/bin/chromium).

import { chromium } from "playwright-core";
import { preview } from "vite";

const relay = process.env.IRIS_RELAYS?.split(",")[0] ?? "ws://127.0.0.1:7600";
const server = await preview({ preview: { host: "127.0.0.1", port: 0 }, logLevel: "warn" });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});

try {
  const base = server.resolvedUrls?.local[0];
  if (!base) throw new Error("vite preview reported no address");
  const alice = await browser.newPage();
  const errors = [];
  alice.on("pageerror", (error) => errors.push(error));
  await alice.goto(`${base}?relay=${encodeURIComponent(relay)}`);
  await alice.locator("#status", { hasText: "connected to" }).waitFor({ timeout: 15_000 });

  // The second tab opens the first one's link, key and all: it is in the same room.
  const bob = await browser.newPage();
  await bob.goto(alice.url());
  await bob.locator("#status", { hasText: "connected to" }).waitFor({ timeout: 15_000 });

  await alice.fill("#message", "hello from the smoke test");
  await alice.click("button[type=submit]");
  await alice.locator("#messages li", { hasText: "me: hello from the smoke test" }).waitFor({ timeout: 10_000 });
  await bob.locator("#messages li", { hasText: "hello from the smoke test" }).waitFor({ timeout: 10_000 });
  if (errors.length > 0) throw errors[0];
  console.log("web-app example: ok");
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
}
