// A browser peer in a tab that Chromium really hides and really throttles stays attached to its relay for
// 5 minutes and hears everything published to it meanwhile, in order.
//
// The tab is hidden the way a user hides one: another tab is opened in front of it, in the same window.
// Chromium then throttles its timers, first to one wake-up a second and then, once the page has been
// hidden for the grace period, to one wake-up a minute (intensive wake-up throttling; the grace period
// is shortened from 5 minutes to GRACE_S so that the test spends its minutes throttled). The test checks
// that this happened: the page reports itself hidden throughout, and a chain of 100 ms timers in it
// wakes only about once a minute. WebSocket messages are not throttled, and the relay runs with its
// defaults. The browser is started by test/fixtures/throttled-chromium.ts, which says why Playwright's
// own browser cannot hide a page.
//
// A page with a connected RTCPeerConnection is exempt from intensive throttling (measured here: its
// timers kept waking once a second), so this page opens no direct link.

import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import type { RelaySnapshot } from "../../core/wire/relay-report.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { launchThrottledChromium } from "../fixtures/throttled-chromium.ts";
import type { ThrottledChromium } from "../fixtures/throttled-chromium.ts";

const MINUTE_MS = 60_000;
const HIDDEN_MS = 5 * MINUTE_MS;
const GRACE_S = 10;
/** Throttled timers wake once a minute: anything the page does on a timer may wait that long. */
const THROTTLED_WAIT_MS = MINUTE_MS + 15_000;
const PROBE_EVERY_MS = 100;

declare global {
  interface Window {
    /** When (Date.now()) the page's chain of PROBE_EVERY_MS timers woke. */
    wakeUps: number[];
    /** The page's visibility changes: [Date.now(), visibilityState]. */
    visibilityChanges: Array<[number, string]>;
  }
}

/** Counts the page's timer wake-ups: a chained timer, as the intensive throttling applies to. */
function startWakeProbe(everyMs: number): void {
  window.wakeUps = [];
  window.visibilityChanges = [];
  document.addEventListener("visibilitychange", () => {
    window.visibilityChanges.push([Date.now(), document.visibilityState]);
  });
  const wake = () => {
    window.wakeUps.push(Date.now());
    setTimeout(wake, everyMs);
  };
  setTimeout(wake, everyMs);
}

let relay: RelayProcess;
let publisher: Connection;
let browser: ThrottledChromium;
const keys = { news: generateKey() };

test.beforeAll(async () => {
  relay = await startRelay();
  publisher = await connect({ relays: [relay.url], keys });
  browser = await launchThrottledChromium({ graceSeconds: GRACE_S });
});

test.afterAll(async () => {
  await browser?.close();
  await publisher?.close();
  await relay?.stop();
});

async function attachedPeers(): Promise<string[]> {
  const response = await fetch(`${relay.adminUrl}/status`);
  const report = (await response.json()) as RelaySnapshot;
  return report.peers.map((peer) => peer.peerId);
}

/** Waits until the page has heard `count` publishes; returns how long that took. */
async function heardWithin(page: Page, count: number): Promise<number> {
  const started = Date.now();
  await expect
    .poll(() => page.evaluate(() => window.peerKit.heard("tab").length), {
      timeout: THROTTLED_WAIT_MS,
      intervals: [50],
    })
    .toBe(count);
  return Date.now() - started;
}

function waitUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}

test("a hidden tab whose timers Chromium throttles to one wake-up a minute stays attached for 5 minutes and hears every publish", async ({
  baseURL,
}) => {
  test.setTimeout(HIDDEN_MS + 3 * MINUTE_MS);
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto(baseURL ?? "/");
  await expect(page.locator("#status")).toHaveText("ready");
  await page.evaluate(startWakeProbe, PROBE_EVERY_MS);
  const peerId = await page.evaluate(([url, k]) => window.peerKit.connect("tab", url, k), [relay.url, keys] as const);
  await page.evaluate(() => window.peerKit.subscribe("tab", "news"));
  expect(await page.evaluate(() => document.visibilityState)).toBe("visible");

  // A tab opened in front of it, in the same window, hides it.
  const cover = await browser.context.newPage();
  const hiddenAt = Date.now();
  await expect.poll(() => page.evaluate(() => document.visibilityState)).toBe("hidden");

  // Published at the start, the middle and the end of the 5 minutes.
  const sent: string[] = [];
  const deliveryMs: number[] = [];
  for (const [index, at] of [0, HIDDEN_MS / 2, HIDDEN_MS].entries()) {
    await waitUntil(hiddenAt + at);
    const body = `m${index}`;
    await publisher.publish("news", body);
    sent.push(body);
    deliveryMs.push(await heardWithin(page, sent.length));
  }
  const hiddenFor = Date.now() - hiddenAt;

  expect(await page.evaluate(() => window.peerKit.heard("tab"))).toEqual(sent.map((body) => `publish:${body}`));
  expect(await page.evaluate(() => window.peerKit.drops("tab"))).toEqual([]);
  expect(relay.lines.filter((line) => line.includes(`peer-left peer=${peerId}`))).toEqual([]);
  expect(await attachedPeers()).toContain(peerId);

  // The page really was hidden, all along.
  expect(await page.evaluate(() => document.visibilityState)).toBe("hidden");
  const changes = await page.evaluate(() => window.visibilityChanges);
  expect(changes.map(([, state]) => state)).toEqual(["hidden"]);

  // Its timers really were throttled to about one wake-up a minute once the grace period was over (a
  // chain of 100 ms timers wakes 600 times a minute unthrottled, 60 under the ordinary background
  // throttling), and they still ran: the page was throttled, not frozen.
  const throttledFrom = hiddenAt + GRACE_S * 1000 + MINUTE_MS;
  const wakeUps = (await page.evaluate(() => window.wakeUps)).filter((at) => at >= throttledFrom);
  const gaps = wakeUps.slice(1).map((at, i) => at - (wakeUps[i] ?? at));
  const throttledMinutes = (hiddenAt + hiddenFor - throttledFrom) / MINUTE_MS;
  expect(wakeUps.length).toBeGreaterThanOrEqual(Math.floor(throttledMinutes) - 1);
  expect(wakeUps.length).toBeLessThanOrEqual(Math.ceil(throttledMinutes) + 1);
  expect(gaps.length).toBeGreaterThan(0);
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(MINUTE_MS / 2);
  console.log(
    `hidden tab: hidden ${(hiddenFor / MINUTE_MS).toFixed(1)} min; ${sent.length} publishes heard after ${deliveryMs.join(", ")} ms; ` +
      `${wakeUps.length} timer wake-ups in the last ${throttledMinutes.toFixed(1)} min, gaps ${gaps.join(", ")} ms`,
  );
  await cover.close();
});
