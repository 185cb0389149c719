// A page whose timers are throttled the way Chromium throttles a tab left in the background (intensive
// wake-up throttling: timers wake at most once a minute, aligned to the minute) stays attached to its
// relay for 5 minutes and hears everything published to it meanwhile.
//
// Headless Chromium keeps every page visible (hiding a tab, minimising its window, occluding it: none
// changes document.visibilityState here), so its own throttling cannot be switched on; the page's timer
// functions are wrapped to behave as they would in such a tab, before the app starts. WebSocket messages
// are not throttled in a background tab, and are not here either. The relay runs with its defaults.

import { expect, test } from "@playwright/test";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const ATTACHED_MS = 5 * 60_000;
const PUBLISH_EVERY_MS = 10_000;
const MINUTE_MS = 60_000;

declare global {
  interface Window {
    /** Set once the page is "in the background": timers from then on are throttled. */
    throttleTimers: boolean;
    /** The minutes (since the epoch) in which throttled timers woke the page. */
    wakeMinutes: Set<number>;
  }
}

/**
 * Chromium's intensive wake-up throttling in a hidden tab: a timer runs at the first whole minute at or
 * after its due time, so all the page's timers wake together, once a minute at most.
 */
function throttleLikeABackgroundTab(): void {
  const nativeSetTimeout = window.setTimeout.bind(window);
  const nativeClearTimeout = window.clearTimeout.bind(window);
  window.throttleTimers = false;
  window.wakeMinutes = new Set();
  const aligned = (ms: number) => {
    const due = Date.now() + Math.max(0, ms);
    return Math.ceil(due / 60_000) * 60_000 - Date.now();
  };
  const wrapped = (handler: TimerHandler, ms?: number, ...args: unknown[]): number => {
    if (!window.throttleTimers || typeof handler !== "function") return nativeSetTimeout(handler, ms, ...args);
    return nativeSetTimeout(
      () => {
        window.wakeMinutes.add(Math.floor(Date.now() / 60_000));
        handler(...args);
      },
      aligned(ms ?? 0),
    );
  };
  window.setTimeout = wrapped as typeof window.setTimeout;
  window.clearTimeout = nativeClearTimeout;
  // An interval is a chain of timeouts, throttled alike.
  const intervals = new Map<number, number>();
  let nextInterval = 1;
  window.setInterval = ((handler: TimerHandler, ms?: number, ...args: unknown[]) => {
    if (typeof handler !== "function") throw new TypeError("setInterval with a string is not used here");
    const id = nextInterval++;
    const schedule = () => {
      intervals.set(
        id,
        wrapped(() => {
          schedule();
          handler(...args);
        }, ms),
      );
    };
    schedule();
    return id;
  }) as typeof window.setInterval;
  window.clearInterval = ((id?: number) => {
    if (id === undefined) return;
    const timer = intervals.get(id);
    if (timer !== undefined) nativeClearTimeout(timer);
    intervals.delete(id);
  }) as typeof window.clearInterval;
}

let relay: RelayProcess;
let publisher: Connection;
const keys = { news: generateKey() };

test.beforeAll(async () => {
  relay = await startRelay();
  publisher = await connect({ relays: [relay.url], keys });
});

test.afterAll(async () => {
  await publisher?.close();
  await relay?.stop();
});

test("a page whose timers wake once a minute stays attached for 5 minutes and hears every publish", async ({
  page,
}) => {
  test.setTimeout(ATTACHED_MS + 3 * MINUTE_MS);
  await page.addInitScript(throttleLikeABackgroundTab);
  await page.goto("/");
  await expect(page.locator("#status")).toHaveText("ready");
  const peerId = await page.evaluate(([url, k]) => window.peerKit.connect("tab", url, k), [relay.url, keys] as const);
  await page.evaluate(() => window.peerKit.subscribe("tab", "news"));
  await page.evaluate(() => {
    window.throttleTimers = true;
  });

  const started = Date.now();
  const sent: string[] = [];
  while (Date.now() - started < ATTACHED_MS) {
    const body = `m${sent.length}`;
    await publisher.publish("news", body);
    sent.push(body);
    await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS));
  }
  await expect
    .poll(() => page.evaluate(() => window.peerKit.heard("tab").length), { timeout: 30_000 })
    .toBe(sent.length);

  const heard = await page.evaluate(() => window.peerKit.heard("tab"));
  expect(heard).toEqual(sent.map((body) => `publish:${body}`));
  expect(await page.evaluate(() => window.peerKit.drops("tab"))).toEqual([]);
  expect(relay.lines.filter((line) => line.includes(`peer-left peer=${peerId}`))).toEqual([]);
  // The throttling was in force: the page's timers woke in some minutes, at most once in each.
  const wakeMinutes = await page.evaluate(() => window.wakeMinutes.size);
  const minutes = (Date.now() - started) / MINUTE_MS;
  expect(wakeMinutes).toBeGreaterThan(0);
  expect(wakeMinutes).toBeLessThanOrEqual(Math.ceil(minutes) + 1);
  console.log(
    `throttled page: ${heard.length} publishes heard over ${minutes.toFixed(1)} min; timers woke in ${wakeMinutes} minutes`,
  );
});
