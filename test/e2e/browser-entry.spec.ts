// The browser entry against a real relay process on 127.0.0.1: connect() in the page dials with the
// page's own WebSocket (the bundle has no other), registers a service, and a Node peer's request
// reaches it and comes back, sealed end to end both ways.

import { expect, test } from "@playwright/test";
import { connect } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

let relay: RelayProcess | null = null;
let nodePeer: Connection | null = null;

test.afterEach(async () => {
  await nodePeer?.close();
  nodePeer = null;
  await relay?.stop();
  relay = null;
});

test("a page connects to a relay with connect() and serves a Node peer's requests", async ({ page }) => {
  relay = await startRelay(["--host", "127.0.0.1"]);
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto("/");
  await expect(page.locator("#status")).toHaveText("ready");

  const pageView = await page.evaluate(async (url) => {
    const conn = await window.iris.connect({ relays: [url], development: true });
    await conn.register("browser-echo", {
      request: (body) => new TextEncoder().encode(`page got ${new TextDecoder().decode(body)}`),
    });
    // The page's own request goes through the relay to itself: self-delivery, as in Iris.
    const own = new TextDecoder().decode(await conn.request("browser-echo", "from the page", { timeout: 5_000 }));
    return { peerId: conn.peerId, own };
  }, relay.url);
  expect(pageView.own).toBe("page got from the page");
  expect(pageView.peerId).toMatch(/^[0-9a-f]+$/);

  nodePeer = await connect({ relays: [relay.url], development: true });
  const reply = await nodePeer.request("browser-echo", "from Node", { timeout: 5_000 });
  expect(new TextDecoder().decode(reply)).toBe("page got from Node");
  await relay.waitForLine(/peer-joined.*browser/i, 5_000);
});

test("a page publishing as fast as it can still runs its timers (and so answers heartbeats)", async ({ page }) => {
  relay = await startRelay(["--host", "127.0.0.1"]);
  await page.goto("/");
  await expect(page.locator("#status")).toHaveText("ready");
  // Counted, not timed: publish until the timer has ticked 10 times. If publishing never let a timer
  // run, the loop ends at the cap with fewer ticks; how fast the machine is does not matter.
  const result = await page.evaluate(async (url) => {
    const conn = await window.iris.connect({ relays: [url], development: true });
    const wantedTicks = 10;
    const cap = 200_000;
    let ticks = 0;
    const interval = setInterval(() => ticks++, 5);
    let published = 0;
    while (ticks < wantedTicks && published < cap) {
      await conn.publish("firehose", "x");
      published++;
    }
    clearInterval(interval);
    await conn.close();
    return { ticks, published, cap };
  }, relay.url);
  expect(result.ticks).toBeGreaterThanOrEqual(10);
  expect(result.published).toBeLessThan(result.cap);
  // The page yields to timers only every 10 ms, so ten ticks take at least 100 ms of publishing: many
  // publications per tick, not a pause after each one.
  expect(result.published).toBeGreaterThan(50);
});
