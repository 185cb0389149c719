// The dashboard as a person uses it, against the main job (`npm start`'s stack, started here on free
// ports): two tabs join, one serves a cluster beside the demo's Node members, the other sends requests
// and a file through a tunnel, the topology shows both; private keys travel in the link and a tab with
// another key sees no one; an unreachable relay says so; and the panels work at a phone's width.
// Screenshots of each step land in test-results/dashboard/ (IRIS_README_SCREENSHOT=1 also refreshes
// web-demo/screenshot.png for the README).

import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:net";
import path from "node:path";
import { expect, test } from "@playwright/test";
import {
  joinCluster,
  openDashboard,
  ready,
  sendRequests,
  shot,
  watchErrors,
} from "../fixtures/dashboard/dashboard-page.ts";
import { startStack } from "../fixtures/dashboard/stack-process.ts";
import type { StackProcess } from "../fixtures/dashboard/stack-process.ts";

const README_SCREENSHOT = path.resolve(import.meta.dirname, "../../web-demo/screenshot.png");

let stack: StackProcess;

test.beforeAll(async () => {
  stack = await startStack();
});

test.afterAll(async () => {
  const code = await stack?.stop();
  expect(code, stack?.output()).toBe(0);
});

// Chromium offers a 127.0.0.1 ICE candidate only to pages allowed a camera or microphone; with it, the
// direct WebRTC links that core is gaining can form between the two tabs on this machine.
test.use({ permissions: ["camera", "microphone"], viewport: { width: 1280, height: 900 } });

test("two tabs: a member tab answers beside the Node members, a file crosses a tunnel intact, the topology shows both", async ({
  context,
}) => {
  const a = await openDashboard(context, stack.dashboard);
  const b = await openDashboard(context, stack.dashboard);
  await expect(a.page.locator("#mode-banner")).toHaveAttribute("data-mode", "development");
  await expect(a.page.locator("#mode-banner")).toContainText("INSECURE");
  await shot(a.page, "01-tab-a-connected");

  // Tab B serves "echo" with the three Node members, and "drop", where only it will take files.
  await joinCluster(b.page, "echo");
  await joinCluster(b.page, "drop");

  // Tab A's requests are balanced over all four members: keep sending until both kinds have answered.
  await expect(async () => {
    await sendRequests(a.page, "echo", 20);
    await expect(a.page.locator(`#request-tally li[data-responder="${b.label}"]`)).toBeVisible({ timeout: 1000 });
    await expect(a.page.locator('#request-tally li[data-responder^="echo-member-"]').first()).toBeVisible({
      timeout: 1000,
    });
  }).toPass({ timeout: 60_000 });
  await expect(a.page.locator("#request-results li").first()).toContainText(/in \d+(\.\d+)? m?s/);
  await expect(a.page.locator(`#request-results li[data-responder="${b.label}"]`).first()).toContainText(
    `${b.label} says: hello #`,
  );
  await expect(b.page.locator('#member-list li[data-cluster="echo"]')).toContainText(/answered [1-9]\d* requests?/);
  await expect(a.page.locator("#request-error")).toBeHidden();
  await shot(a.page, "02-tab-a-requests");

  // The topology: three relays linked as a backbone, both tabs attached, tab B counted in "echo".
  const topology = a.page.locator("#topology");
  await expect(topology.locator("[data-relay-id]")).toHaveCount(3, { timeout: 15_000 });
  await expect(topology.locator('[data-kind="relay"]')).toHaveCount(3, { timeout: 15_000 });
  for (const tab of [a, b]) {
    await expect(topology.locator(`[data-peer-id="${tab.peerId}"]`)).toBeVisible();
    await expect(topology.locator(`[data-kind="attach"][data-from="${tab.peerId}"]`)).toHaveCount(1);
  }
  await expect(topology.locator(`[data-peer-id="${a.peerId}"]`)).toContainText("(this tab)");
  await expect(a.page.locator('#services li[data-kind="cluster"]', { hasText: "cluster echo" })).toContainText(
    `4 members`,
  );
  // Relays report ids, not names: tab B named "drop" and can label it; tab A learns the name only when
  // it uses it (below), and until then sees a hash.
  await expect(b.page.locator('#services li[data-kind="cluster"]', { hasText: "cluster drop" })).toContainText(b.label);
  await expect(a.page.locator('#services li[data-kind="cluster"]', { hasText: "cluster drop" })).toHaveCount(0);
  // Direct links: drawn when core reports them; none can exist before it does.
  const hasDirect = await a.page.evaluate(
    () => typeof (window.irisDashboard.conn as { directPeers?: unknown } | null)?.directPeers === "function",
  );
  if (!hasDirect) await expect(topology.locator('[data-kind="direct"]')).toHaveCount(0);

  // A file from tab A to tab B through a tunnel: both show the same SHA-256, the one computed here.
  const file = randomBytes(3 * 1024 * 1024 + 123);
  const sha256 = createHash("sha256").update(file).digest("hex");
  const filePanel = a.page.locator("#file-panel");
  await filePanel.getByLabel("To a member of cluster", { exact: true }).fill("drop");
  await filePanel
    .getByLabel("File", { exact: true })
    .setInputFiles({ name: "random.bin", mimeType: "application/octet-stream", buffer: file });
  await filePanel.getByRole("button", { name: "Send file" }).click();
  await expect(a.page.locator("#file-verdict")).toHaveAttribute("data-match", "true", { timeout: 60_000 });
  await expect(a.page.locator("#file-sha-sent")).toHaveText(sha256);
  await expect(a.page.locator("#file-sha-received")).toHaveText(sha256);
  await expect(a.page.locator("#file-stats")).toContainText(`received by ${b.label}`);
  const received = b.page.locator('#received-files li[data-file="random.bin"]');
  await expect(received).toHaveAttribute("data-sha256", sha256);
  await expect(received.locator(".sha256")).toHaveText(sha256);
  await expect(received.getByRole("link", { name: "Save random.bin" })).toBeVisible();
  await expect(a.page.locator('#services li[data-kind="cluster"]', { hasText: "cluster drop" })).toContainText(b.label);

  // The route shown is the route the tunnel reports: "relay" until direct links land, then maybe "direct".
  const route = await a.page.evaluate(
    () => (window.irisDashboard.lastTunnel as { route?: string } | null)?.route ?? null,
  );
  expect(["relay", "direct"]).toContain(route);
  if (!hasDirect) expect(route).toBe("relay");
  await expect(a.page.locator("#file-route")).toHaveAttribute("data-route", route!);
  if (route === "direct") {
    const [from, to] = [a.peerId, b.peerId].sort();
    await expect(topology.locator(`[data-kind="direct"][data-from="${from}"][data-to="${to}"]`)).toHaveCount(1);
  }
  await shot(b.page, "04-tab-b-file-received");

  // A broadcast reaches tab B (and the Node members); a subscription hears the Node ticker and this
  // tab's own publish.
  await a.page.getByRole("button", { name: "Broadcast" }).click();
  await expect(b.page.locator('#member-list li[data-cluster="echo"]')).toContainText(
    'heard 1 broadcast, last: "hello"',
  );
  const pubsub = a.page.locator("#pubsub-panel");
  await pubsub.getByRole("button", { name: "Subscribe" }).click();
  await expect(pubsub.locator('#topic-messages li[data-topic="ticks"]').first()).toContainText('{"tick":', {
    timeout: 10_000,
  });
  await pubsub.getByLabel("Message", { exact: true }).fill("hello from tab A");
  await pubsub.getByRole("button", { name: "Publish" }).click();
  await expect(pubsub.locator("#topic-messages li", { hasText: "from this tab: hello from tab A" })).toHaveCount(1);
  await expect(a.page.locator("#chart-summary")).toContainText(/Last second: \d+ requests sent/);
  await shot(a.page, "03-tab-a-file-sent");
  if (process.env.IRIS_README_SCREENSHOT === "1") await a.page.screenshot({ path: README_SCREENSHOT, fullPage: true });

  // The Node "files" member hashes what it gets and answers the same way.
  await filePanel.getByLabel("To a member of cluster", { exact: true }).fill("files");
  await filePanel.getByRole("button", { name: "Send file" }).click();
  await expect(a.page.locator("#file-stats")).toContainText("received by files member (Node)", { timeout: 60_000 });
  await expect(a.page.locator("#file-verdict")).toHaveAttribute("data-match", "true");
  await expect(a.page.locator("#file-sha-received")).toHaveText(sha256);

  // Tab B leaves: tab A's topology drops it on a following poll.
  const errorsOfB = b.errors;
  await b.page.close();
  await expect(topology.locator(`[data-peer-id="${b.peerId}"]`)).toHaveCount(0, { timeout: 10_000 });
  await shot(a.page, "05-tab-a-after-b-left");

  expect(a.errors).toEqual([]);
  expect(errorsOfB).toEqual([]);
});

test("private keys travel in the link: a tab opening it serves the cluster; another key finds no members", async ({
  context,
}) => {
  const a = await openDashboard(context, stack.dashboard);
  await a.page.locator("#keys-panel").getByLabel("Cluster or topic name", { exact: true }).fill("secret");
  await a.page.getByRole("button", { name: "Generate private key" }).click();
  // The tab reconnects with the key: the banner turns private and the link carries the key.
  await expect(a.page.locator("#mode-banner")).toHaveAttribute("data-mode", "private", { timeout: 20_000 });
  const pageA = await ready(a.page, a.errors);
  const link = await pageA.page.locator("#share-link").inputValue();
  expect(link).toMatch(/#key\.secret=[A-Za-z0-9_-]{43}$/);
  expect(pageA.page.url()).toBe(link);

  const b = await openDashboard(context, link);
  await expect(b.page.locator("#mode-banner")).toHaveAttribute("data-mode", "private");
  await joinCluster(b.page, "secret");
  // In-page links move focus without touching the fragment: the keys stay in the link, the tab stays.
  await b.page.getByRole("link", { name: "Skip to the panels" }).focus();
  await b.page.keyboard.press("Enter");
  await expect(b.page.locator("#panels")).toBeFocused();
  expect(b.page.url()).toBe(link);
  await expect(b.page.locator('#member-list li[data-cluster="secret"]')).toBeVisible();
  // Tab A holds the key, so it can name the cluster the relays report by id; once B shows in it, ask.
  await expect(pageA.page.locator('#services li[data-kind="cluster"]', { hasText: "cluster secret" })).toContainText(
    b.label,
    { timeout: 10_000 },
  );
  await sendRequests(pageA.page, "secret", 3);
  await expect(pageA.page.locator("#request-tally li")).toHaveCount(1);
  await expect(pageA.page.locator(`#request-tally li[data-responder="${b.label}"]`)).toHaveAttribute("data-count", "3");
  await shot(pageA.page, "06-private-key-requests");

  // The same name under another key is another cluster: nobody is in it.
  const c = await openDashboard(context, stack.dashboard);
  await c.page.locator("#keys-panel").getByLabel("Cluster or topic name", { exact: true }).fill("secret");
  await c.page.getByRole("button", { name: "Generate private key" }).click();
  await expect(c.page.locator("#mode-banner")).toHaveAttribute("data-mode", "private", { timeout: 20_000 });
  const pageC = await ready(c.page, c.errors);
  await sendRequests(pageC.page, "secret", 1);
  await expect(pageC.page.locator("#request-error")).toContainText(
    'No members in cluster "secret" for this link\'s key',
  );
  // And a private tab has no key for the demo's development services: it says so.
  await sendRequests(pageC.page, "echo", 1);
  await expect(pageC.page.locator("#request-error")).toContainText('No key for cluster "echo" in this link');
  await shot(pageC.page, "07-other-key-no-members");

  expect(a.errors).toEqual([]);
  expect(b.errors).toEqual([]);
  expect(c.errors).toEqual([]);
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
  await shot(page, "08-relay-unreachable");
});

test("at a phone's width the panels fit and work from the keyboard", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  try {
    const tab = await openDashboard(context, stack.dashboard);
    const page = tab.page;
    await expect(page.locator("#topology")).toHaveClass("layout-column");
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    for (const id of [
      "#request-send",
      "#broadcast-send",
      "#member-join",
      "#topic-subscribe",
      "#topic-publish",
      "#file-send",
    ]) {
      const box = await page.locator(id).boundingBox();
      expect(box, id).not.toBeNull();
      expect(box!.x + box!.width, id).toBeLessThanOrEqual(390);
    }

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
    await shot(page, "09-phone");
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
