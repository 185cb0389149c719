// The dashboard as a person uses it, against the main job (`npm start`'s stack, started here on free
// ports, each relay its own process): three tabs follow the guide, the topology and the relay list
// show the mesh, requests are drawn along their routes, and a relay killed from the page heals with
// 0 failed requests counted on screen (draining is proven without a browser, in main-job.test.ts);
// keys keep a tab's session; errors are diagnosed once, grouped and numbered; an unreachable relay
// says so; a phone's width works. Screenshots of each step land in test-results/dashboard/;
// IRIS_README_SCREENSHOT=1 also refreshes the README's (web-demo/screenshot.png and the healing
// sequence web-demo/healing-*.png).

import { createHash, randomBytes } from "node:crypto";
import { copyFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { RelayProcess } from "../../web-demo/relay-process.ts";
import {
  expectAccessible,
  joinCluster,
  openDashboard,
  ready,
  relayRow,
  sendRequests,
  shot,
  watchErrors,
} from "../fixtures/dashboard/dashboard-page.ts";
import { startStack } from "../fixtures/dashboard/stack-process.ts";
import type { StackProcess } from "../fixtures/dashboard/stack-process.ts";

const WEB_DEMO = path.resolve(import.meta.dirname, "../../web-demo");
const README = process.env.IRIS_README_SCREENSHOT === "1";

let stack: StackProcess;

test.beforeAll(async () => {
  stack = await startStack({ IRIS_TOUR: "0" });
});

test.afterAll(async () => {
  const code = await stack?.stop();
  expect(code, stack?.output()).toBe(0);
});

// Chromium offers a 127.0.0.1 ICE candidate only to pages allowed a camera or microphone; with it,
// direct WebRTC links form between tabs on this machine.
test.use({ permissions: ["camera", "microphone"], viewport: { width: 1280, height: 900 } });

/** Keeps the README's copy of a screenshot when asked to. */
function forReadme(file: string, name: string): void {
  if (README) copyFileSync(file, path.join(WEB_DEMO, name));
}

async function relayUrl(page: Page, name: string): Promise<string> {
  const key = await relayRow(page, name).getAttribute("data-relay-key");
  expect(key).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  return key!;
}

test("the tour: three tabs follow the guide, see the mesh and its traffic, and watch it heal as a relay is killed and restarted", async ({
  context,
}) => {
  test.setTimeout(240_000);
  const relays = stack.relays;
  const a = await openDashboard(context, stack.dashboard);
  const errorsA = watchErrors(a.page, relays);
  a.errors.length = 0;
  const guide = a.page.locator("#guide");
  await expect(guide.getByRole("heading", { name: "Try it in four steps" })).toBeVisible();
  await expect(guide.locator(".guide-progress")).toHaveText("0 of 4 done.");
  await expect(a.page.locator("#topology [data-relay-key]")).toHaveCount(3, { timeout: 15_000 });
  await expect(a.page.locator("#relay-list li.relay-row[data-condition=up]")).toHaveCount(3);
  await expect(a.page.getByRole("link", { name: "Read the docs (README)" })).toHaveAttribute("href", "./README.md");
  await shot(a.page, "01-first-screen", { full: false });
  await expectAccessible(a.page);

  // 1. A second and a third tab: the guide ticks step 1 in the first.
  const b = await openDashboard(context, stack.dashboard);
  const c = await openDashboard(context, stack.dashboard);
  for (const tab of [b, c]) tab.errors.length = 0;
  const errorsB = watchErrors(b.page, relays);
  const errorsC = watchErrors(c.page, relays);
  await expect(guide.locator('[data-step="second-tab"]')).toHaveAttribute("data-done", "true", { timeout: 15_000 });

  // 2. The second tab serves echo from the guide; the third joins too, so they share a cluster and
  //    open a direct WebRTC link between them at once, no transfer needed.
  await b.page.locator("#guide").getByRole("button", { name: 'Serve "echo" from this tab' }).click();
  await expect(b.page.locator('#member-list li[data-cluster="echo"]')).toBeVisible();
  await joinCluster(c.page, "echo");
  await expect(guide.locator('[data-step="serve"]')).toHaveAttribute("data-done", "true", { timeout: 15_000 });

  // 3. Requests from the guide: balanced over the Node members and the two tabs, drawn along their routes.
  await expect(async () => {
    await guide.getByRole("button", { name: 'Send 20 requests to "echo"' }).click();
    await expect(a.page.locator("#request-summary")).toContainText("of 20 answered", { timeout: 20_000 });
    await expect(a.page.locator(`#request-tally li[data-responder="${b.label}"]`)).toBeVisible({ timeout: 1000 });
    await expect(a.page.locator('#request-tally li[data-responder^="echo-member-"]').first()).toBeVisible({
      timeout: 1000,
    });
  }).toPass({ timeout: 60_000 });
  await expect(guide.locator('[data-step="requests"]')).toHaveAttribute("data-done", "true");
  // One name per peer: the answer's author is the tally's, the topology's and the feed's name for it.
  const answer = a.page.locator(`#request-results li[data-responder="${b.label}"]`).first();
  await expect(answer).toContainText(new RegExp(`^#\\d+ ${b.label} · [\\d.]+ m?s · says: hello #\\d+`));
  await expect(a.page.locator("#request-results li").first()).not.toContainText(/\(\w{8}\)/);
  await expect(a.page.locator(`#topology [data-peer-id="${b.peerId}"]`)).toContainText(b.label);
  // The last request drawn went from this tab through the relays to a member and back.
  const route = await a.page.evaluate(() => window.irisDashboard.lastRoute);
  expect(route?.kind).toBe("relay");
  expect(route?.hops[0]).toBe(a.peerId);
  expect(route?.hops.slice(1, -1).every((hop) => relays.includes(hop))).toBe(true);
  expect(Number(await a.page.locator("#topology .traffic").getAttribute("data-drawn"))).toBeGreaterThan(0);
  await expect(a.page.locator("#chart-clusters canvas")).toHaveCount(1);
  await expect(a.page.locator('#legend-clusters li[data-series="to:echo"] .legend-value')).not.toHaveText("–");
  await shot(a.page, "02-requests-and-traffic", { full: false });

  // The relay list: every relay up, in words, with its numbers; details on click, for relays and peers.
  const row2 = relayRow(a.page, "relay 2");
  await expect(row2.locator(".relay-state")).toContainText(/^up for \d+/);
  await expect(row2.locator("dd").first()).toHaveText(/^\d+$/);
  await row2.getByRole("button", { name: "relay 2: show details" }).click();
  await expect(a.page.locator("#details h3")).toHaveText("relay 2");
  await expect(a.page.locator("#details")).toContainText("Slow-consumer drops");
  await expect(a.page.locator("#details")).toContainText(/Senders paused\s*\d+ now, \d+ times since start/);
  await a.page.locator(`#topology [data-peer-id="${b.peerId}"]`).click();
  await expect(a.page.locator("#details h3")).toHaveText(b.label);
  await expect(a.page.locator("#details")).toContainText("Member of");
  // The two tabs serving echo opened a direct link meanwhile (the one with the smaller id asks).
  const [first, second] = [b.peerId, c.peerId].sort();
  const firstTab = first === b.peerId ? b : c;
  await expect(
    firstTab.page.locator(`#topology [data-kind="direct"][data-from="${first}"][data-to="${second}"]`),
  ).toHaveCount(1, { timeout: 30_000 });
  await expect(firstTab.page.locator("#activity")).toContainText("Opened a direct WebRTC link to");
  const full = await shot(a.page, "03-three-tabs");
  forReadme(full, "screenshot.png");

  // 4. Kill relay 2 from the page: the tab starts a steady stream of requests, relay 2 is down in
  //    words, its peers move to the others, and once it is restarted the tally says what happened.
  const relay2 = await relayUrl(a.page, "relay 2");
  const before = await shot(a.page, "04-before-the-outage", { element: a.page.locator(".mesh") });
  forReadme(before, "healing-1-before.png");
  await row2.getByRole("button", { name: "Kill relay 2" }).click();
  await expect(row2).toHaveAttribute("data-condition", "down", { timeout: 15_000 });
  await expect(row2.locator(".relay-state")).toContainText("killed (SIGKILL)");
  await expect(a.page.locator("#stream-status")).toContainText("Started for the outage");
  await expect(a.page.locator(`#topology [data-relay-key="${relay2}"]`)).toHaveAttribute("data-condition", "down");
  await expect(a.page.locator(`#topology [data-relay-key="${relay2}"]`)).toContainText("DOWN");
  // Every peer that was on relay 2 is elsewhere (or fading out as "moving") within seconds.
  await expect(a.page.locator(`#topology .peer[data-relay="${relay2}"]:not([data-stale])`)).toHaveCount(0, {
    timeout: 15_000,
  });
  await expect(a.page.locator("#outages li[data-state=active]")).toHaveCount(1);
  const killed = await shot(a.page, "05-relay-2-killed", { element: a.page.locator(".mesh") });
  forReadme(killed, "healing-2-killed.png");
  await expect(guide.locator('[data-step="stop-relay"]')).toHaveAttribute("data-done", "true");
  await expect(guide.locator(".guide-progress")).toHaveText("4 of 4 done.");

  await row2.getByRole("button", { name: "Restart relay 2" }).click();
  await expect(row2).toHaveAttribute("data-condition", "up", { timeout: 30_000 });
  await expectHealed(a.page, "relay 2 (killed from this page)");
  await expect(a.page.locator(`#topology [data-relay-key="${relay2}"]`)).toHaveCount(1);
  const healed = await shot(a.page, "06-relay-2-back", { element: a.page.locator(".mesh") });
  forReadme(healed, "healing-3-healed.png");

  expect(errorsA).toEqual([]);
  expect(errorsB).toEqual([]);
  expect(errorsC).toEqual([]);
});

/** The newest outage is over, every request sent during it answered, none failed. */
async function expectHealed(page: Page, what: string): Promise<void> {
  const outage = page.locator("#outages li").first();
  await expect(outage).toHaveAttribute("data-state", "over", { timeout: 30_000 });
  await expect(outage).toContainText(what);
  await expect(async () => {
    const sent = Number(await outage.getAttribute("data-sent"));
    expect(sent).toBeGreaterThan(0);
    expect(Number(await outage.getAttribute("data-answered"))).toBe(sent);
  }).toPass({ timeout: 15_000 });
  await expect(outage).toHaveAttribute("data-failed", "0");
  await expect(outage.locator(".tally")).toHaveText(/^\d+ requests during the outage, 0 failed\.$/);
}

test("keys: generating one keeps the tab's session; its link lets another tab in; another key finds nobody", async ({
  context,
}) => {
  const a = await openDashboard(context, stack.dashboard);
  await a.page.locator("#topic-subscribe").click();
  await expect(a.page.locator('#subscriptions li[data-topic="ticks"]')).toBeVisible();
  await a.page.locator("#keys-panel").getByLabel("Cluster or topic name", { exact: true }).fill("secret");
  await a.page.getByRole("button", { name: "Generate private key" }).click();
  // No reload: the same peer, its subscription, its activity; the mode says both things now.
  await expect(a.page.locator("#mode-banner")).toHaveAttribute("data-mode", "mixed");
  await expect(a.page.locator("#activity")).toContainText("This tab kept its session");
  expect(await a.page.locator("#self-peer").getAttribute("data-peer-id")).toBe(a.peerId);
  await expect(a.page.locator('#subscriptions li[data-topic="ticks"]')).toBeVisible();
  const link = await a.page.locator("#share-link").inputValue();
  expect(link).toMatch(/#dev=1&key\.secret=[A-Za-z0-9_-]{43}$/);
  expect(a.page.url()).toBe(link);
  await shot(a.page, "08-key-generated");

  // A tab opening the link holds the key: it serves "secret", and the first tab's requests reach it.
  const b = await openDashboard(context, link);
  await expect(b.page.locator("#mode-banner")).toHaveAttribute("data-mode", "mixed");
  await joinCluster(b.page, "secret");
  // In-page links move focus without touching the fragment: the keys stay in the link, the tab stays.
  await b.page.getByRole("link", { name: "Skip to the panels" }).focus();
  await b.page.keyboard.press("Enter");
  await expect(b.page.locator("#panels")).toBeFocused();
  expect(b.page.url()).toBe(link);
  await expect(a.page.locator('#services li[data-kind="cluster"]', { hasText: "secret" })).toContainText(b.label, {
    timeout: 10_000,
  });
  await sendRequests(a.page, "secret", 3);
  await expect(a.page.locator("#request-tally li")).toHaveCount(1);
  await expect(a.page.locator(`#request-tally li[data-responder="${b.label}"]`)).toHaveAttribute("data-count", "3");

  // The private-only link: the forms name the link's own service, and the demo's need a key.
  await a.page.getByLabel("Private keys only", { exact: false }).check();
  const privateLink = await a.page.locator("#share-link").inputValue();
  expect(privateLink).toMatch(/#key\.secret=[A-Za-z0-9_-]{43}$/);
  const p = await openDashboard(context, privateLink);
  await expect(p.page.locator("#mode-banner")).toHaveAttribute("data-mode", "private");
  await expect(p.page.locator("#request-cluster")).toHaveValue("secret");
  await expect(p.page.locator("#file-cluster")).toHaveValue("secret");
  await sendRequests(p.page, "secret", 2);
  await expect(p.page.locator(`#request-tally li[data-responder="${b.label}"]`)).toHaveAttribute("data-count", "2");
  await sendRequests(p.page, "echo", 1);
  await expect(p.page.locator('#request-error li[data-cause="no-key"]')).toContainText('no key for cluster "echo"');

  // The same name under another key is another cluster: nobody is in it.
  const c = await openDashboard(context, stack.dashboard);
  await c.page.locator("#keys-panel").getByLabel("Cluster or topic name", { exact: true }).fill("secret");
  await c.page.getByRole("button", { name: "Generate private key" }).click();
  await expect(c.page.locator("#mode-banner")).toHaveAttribute("data-mode", "mixed");
  await sendRequests(c.page, "secret", 1);
  await expect(c.page.locator('#request-error li[data-cause="no-members"]')).toContainText(
    'Nobody serves cluster "secret"',
  );
  await shot(c.page, "09-other-key-no-members");

  for (const tab of [a, b, p, c]) expect(tab.errors).toEqual([]);
});

test("files: one chosen crosses a tunnel with matching hashes; a large one dropped on the box can be cancelled", async ({
  page,
}) => {
  const errors = watchErrors(page);
  await page.goto(stack.dashboard);
  const tab = await ready(page, errors);
  const panel = page.locator("#file-panel");
  const file = randomBytes(300 * 1024 + 7);
  const sha256 = createHash("sha256").update(file).digest("hex");
  await panel.getByLabel("Choose a file or drop one here").setInputFiles({
    name: "chosen.bin",
    mimeType: "application/octet-stream",
    buffer: file,
  });
  await expect(panel.locator("#file-chosen")).toHaveText("chosen.bin (300.0 KiB)");
  await panel.getByRole("button", { name: "Send file" }).click();
  await expect(page.locator("#file-verdict")).toHaveAttribute("data-match", "true", { timeout: 30_000 });
  await expect(page.locator("#file-sha-sent")).toHaveText(sha256);
  await expect(page.locator("#file-sha-received")).toHaveText(sha256);
  await expect(page.locator("#file-stats")).toContainText("received by files member (Node)");
  expect(Number(await page.locator("#topology .traffic").getAttribute("data-drawn"))).toBeGreaterThan(0);

  // A large file dropped on the box, as from a file manager (made in the page: nothing to upload),
  // then cancelled on its way: the member is told the file ends there.
  const dropped = await page.evaluateHandle(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(48 * 1024 * 1024).fill(7)], "large.bin"));
    return transfer;
  });
  await panel.locator("#file-drop").dispatchEvent("drop", { dataTransfer: dropped });
  await expect(panel.locator("#file-chosen")).toHaveText("large.bin (48.0 MiB)");
  await panel.getByRole("button", { name: "Send file" }).click();
  await expect(page.locator("#file-progress")).not.toHaveAttribute("value", "0", { timeout: 20_000 });
  await panel.getByRole("button", { name: "Cancel" }).click();
  await expect(page.locator("#file-verdict")).toContainText("Cancelled after", { timeout: 20_000 });
  await expect(panel.getByRole("button", { name: "Cancel" })).toBeHidden();
  await expect(panel.getByRole("button", { name: "Send file" })).toBeEnabled();
  await shot(page, "10-file-cancelled", { element: panel });
  expect(tab.errors).toEqual([]);
});

test("errors: a tab without a relay says so once, grouped and numbered; a new batch replaces the old", async ({
  page,
}) => {
  // A relay of its own (a real process), so stopping it leaves this tab alone without touching the stack.
  const lone = new RelayProcess({ index: 9, host: "127.0.0.1", port: 0, logLevel: "info", env: process.env });
  await lone.start([]);
  const url = lone.status().url!;
  try {
    const errors = watchErrors(page, [url]);
    await page.goto(`${stack.dashboard}?relay=${url}`);
    const tab = await ready(page, errors);
    // Not the stack's relays: no controls offered, and the page says why.
    await expect(page.locator("#relay-list").getByRole("button", { name: /^Kill relay/ })).toHaveCount(0);
    await expect(page.locator("#healing-hint")).toContainText("not served by npm start");
    await lone.stop("kill");
    await expect(page.locator("#status")).toHaveAttribute("data-state", "reconnecting", { timeout: 15_000 });
    await expect(page.locator("#topology-notice")).toBeVisible();

    await sendRequests(page, "echo", 5, 1000);
    const causes = page.locator("#request-error li");
    await expect(causes).toHaveCount(1);
    await expect(causes.first()).toHaveAttribute("data-cause", "disconnected");
    await expect(causes.first()).toHaveAttribute("data-count", "5");
    await expect(causes.first()).toContainText("5 requests (#1–#5): This tab was not connected to any relay");
    await expect(causes.first()).toContainText("Next: It reconnects by itself");
    await expect(page.locator("#request-results li.failed")).toHaveCount(5);
    await expect(page.locator("#request-results")).not.toContainText(/request \d{2,}/);
    await shot(page, "11-disconnected-errors");

    // The relay comes back at its address: the tab reconnects by itself; the next batch replaces the last.
    await lone.start([]);
    await expect(page.locator("#status")).toHaveAttribute("data-state", "connected", { timeout: 20_000 });
    // A relay that has just started gives members a few seconds to come back before it says nobody
    // serves a cluster: with time enough, that is the answer.
    await sendRequests(page, "nobody-serves-this", 3, 10_000);
    await expect(causes).toHaveCount(1);
    await expect(causes.first()).toHaveAttribute("data-cause", "no-members");
    await expect(causes.first()).toContainText("3 requests (#1–#3): Nobody serves cluster");
    await expect(page.locator("#request-results li")).toHaveCount(3);
    expect(tab.errors).toEqual([]);
  } finally {
    await lone.stop("kill");
  }
});

test("an unreachable relay is reported with a way to retry", async ({ page }) => {
  const closedPort = await freePort();
  watchErrors(page); // the failed dials are console errors here, as they should be
  await page.goto(`${stack.dashboard}?relay=ws://127.0.0.1:${closedPort}`);
  const alert = page.locator("#connection-error-text");
  await expect(alert).toContainText(`Relay unreachable: no relay answered at ws://127.0.0.1:${closedPort}`, {
    timeout: 15_000,
  });
  await expect(alert).toContainText("?relay=");
  await expect(page.getByRole("button", { name: "Retry" })).toBeFocused();
  // No empty guide card under the alert: the guide appears once the tab is attached.
  await expect(page.locator("#guide")).toBeHidden();
  await shot(page, "12-relay-unreachable");
});

test("at a phone's width the mesh reads as a column, the panels fit, and they work from the keyboard", async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  try {
    const tab = await openDashboard(context, stack.dashboard);
    const page = tab.page;
    await expect(page.locator("#topology")).toHaveAttribute("data-layout", "column");
    await expect(page.locator("#topology [data-relay-key]")).toHaveCount(3);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    // Labels are drawn at a readable size: the picture is not shrunk to fit.
    const scale = await page.locator("#topology").evaluate((svg) => {
      const box = (svg as SVGSVGElement).viewBox.baseVal;
      return svg.getBoundingClientRect().width / box.width;
    });
    expect(scale).toBeGreaterThan(0.95);
    for (const id of [
      "#guide-send",
      "#request-send",
      "#broadcast-send",
      "#member-join",
      "#topic-subscribe",
      "#file-send",
    ]) {
      const box = await page.locator(id).boundingBox();
      expect(box, id).not.toBeNull();
      expect(box!.x + box!.width, id).toBeLessThanOrEqual(390);
    }
    await shot(page, "13-phone-first-screen", { full: false });
    await page.locator("#topology-panel").scrollIntoViewIfNeeded();
    await shot(page, "14-phone-mesh", { element: page.locator("#topology-panel") });

    // Keyboard only: from the cluster field, Tab through the form to "Send requests" and press Enter.
    const panel = page.locator("#request-panel");
    await panel.getByLabel("Cluster", { exact: true }).focus();
    for (const next of ["Message", "Requests", "Timeout (ms)"]) {
      await page.keyboard.press("Tab");
      await expect(panel.getByLabel(next, { exact: true })).toBeFocused();
    }
    await page.keyboard.press("Tab");
    await expect(panel.getByRole("button", { name: "Send requests" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(panel.locator("#request-summary")).toContainText("10 of 10 answered", { timeout: 30_000 });
    await page.locator("#request-panel").scrollIntoViewIfNeeded();
    await shot(page, "15-phone-requests", { full: false });
    await expectAccessible(page);
    expect(tab.errors).toEqual([]);
  } finally {
    await context.close();
  }
});

/** A port nothing listens on: bound, read, released. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
