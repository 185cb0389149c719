// Direct links in Chromium, through the browser entry as a web app would bundle it (the test page is a
// production Vite build, see playwright.config.ts): Chromium <-> werift in this Node process, in both
// roles, and Chromium <-> Chromium between two pages. Signals go through this process
// (page.exposeFunction out of a page, page.evaluate into one); only 127.0.0.1 candidates are used.

import { networkInterfaces } from "node:os";
import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { connectWebRtc, parseSignal } from "../../core/transports/webrtc.ts";
import type { WebRtcAttempt, WebRtcSignal } from "../../core/transports/webrtc.ts";
import { recordLink, sendWithBackpressure, sha256, testChunks, within } from "../fixtures/link-recorder.ts";
import { LOOPBACK, loopbackOnly, loopbackWerift } from "../fixtures/webrtc-peers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const TOTAL = 4 * MiB;

// Chromium enumerates every local network, loopback included, only for pages allowed to use a camera or
// microphone; otherwise it offers just the default route's address, hidden behind an mDNS name. The
// permission is what gives the page a 127.0.0.1 candidate.
test.use({ permissions: ["camera", "microphone"] });

/** Opens the test page with a way out for its signals; `route` gets each one, checked as from the wire. */
async function openPage(page: Page, route: (id: string, signal: WebRtcSignal) => void): Promise<void> {
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.exposeFunction("__toNode", (id: string, signal: unknown) => route(id, parseSignal(signal)));
  await page.goto("/");
  await expect(page.locator("#status")).toHaveText("ready");
}

/** Delivers a signal into a page. Calls reach the page in the order they are made. */
function intoPage(page: Page, id: string): (signal: WebRtcSignal) => void {
  return (signal) => {
    page
      .evaluate(([to, s]) => window.harness.receive(to, s), [id, signal] as const)
      .catch(() => {
        // The page went away at the end of a test; nothing is waiting for this signal any more.
      });
  };
}

for (const browserRole of ["responder", "initiator"] as const) {
  test(`Chromium (${browserRole}) <-> werift: ${TOTAL / MiB} MiB byte-exact both ways, then close with a code`, async ({
    page,
  }) => {
    let nodeAttempt: WebRtcAttempt | null = null;
    await openPage(page, (_id, signal) => nodeAttempt?.receive(signal));
    const startNode = () =>
      (nodeAttempt = connectWebRtc({
        role: browserRole === "responder" ? "initiator" : "responder",
        peerConnection: loopbackWerift(),
        candidateFilter: loopbackOnly,
        signaling: { send: intoPage(page, "w") },
        remote: "chromium",
      }));
    // Whoever answers must exist before the offer is sent.
    if (browserRole === "initiator") startNode();
    await page.evaluate((role) => window.harness.start("w", role), browserRole);
    if (browserRole === "responder") startNode();

    const link = await within(nodeAttempt!.link, 20_000, "werift's end to open");
    const fingerprints = await page.evaluate(() => window.harness.opened("w"));
    expect(fingerprints.remote).toEqual(nodeAttempt!.localFingerprints);
    expect(fingerprints.local).toEqual(nodeAttempt!.remoteFingerprints);
    expect(await page.evaluate(() => window.harness.selectedPair("w"))).toMatchObject({
      local: LOOPBACK,
      remote: LOOPBACK,
    });

    const atNode = recordLink(link, { keep: false });
    // Odd frame sizes each way: 1 MiB - 1 from the page (reassembled from many channel messages), 64 KiB
    // + 3 from Node.
    const pageSent = page.evaluate(([total, size]) => window.harness.send("w", total, size, 1), [
      TOTAL,
      MiB - 1,
    ] as const);
    const pageGot = page.evaluate((total) => window.harness.received("w", total), TOTAL);
    await sendWithBackpressure(link, testChunks(TOTAL, 64 * KiB + 3, 5000));
    await within(atNode.untilBytes(TOTAL), 60_000, `${TOTAL} bytes from the page`);
    await pageSent;
    expect(atNode.digest()).toBe(sha256(...testChunks(TOTAL, MiB - 1, 1)));
    expect((await pageGot).sha256).toBe(sha256(...testChunks(TOTAL, 64 * KiB + 3, 5000)));

    await page.evaluate(() => window.harness.close("w", 4006, "the page is done"));
    expect(await within(atNode.closed, 10_000, "close at werift")).toEqual({ code: 4006, reason: "the page is done" });
    expect(await page.evaluate(() => window.harness.closed("w"))).toEqual({ code: 4006, reason: "the page is done" });
    await within(
      page.evaluate(() => window.harness.peerConnectionClosed("w")),
      10_000,
      "the page's peer connection to close",
    );
  });
}

test(`Chromium <-> Chromium between two pages: ${TOTAL / MiB} MiB byte-exact both ways, then close with a code`, async ({
  context,
}) => {
  const first = await context.newPage();
  const second = await context.newPage();
  await openPage(first, (_id, signal) => intoPage(second, "p")(signal));
  await openPage(second, (_id, signal) => intoPage(first, "p")(signal));
  await second.evaluate(() => window.harness.start("p", "responder"));
  await first.evaluate(() => window.harness.start("p", "initiator"));
  const [atFirst, atSecond] = await within(
    Promise.all([first.evaluate(() => window.harness.opened("p")), second.evaluate(() => window.harness.opened("p"))]),
    20_000,
    "both pages to open",
  );
  expect(atFirst.remote).toEqual(atSecond.local);
  expect(atSecond.remote).toEqual(atFirst.local);
  // Only 127.0.0.1 candidates are signaled, but Chromium offers no way to keep its connectivity checks
  // off its other local sockets: it also checks from the machine's own non-loopback address towards the
  // other page's 127.0.0.1 candidate, the other page answers to that address (learned as peer-reflexive)
  // and that pair may win. Such traffic never leaves this machine, and that is what is checked here:
  // every address in use is one of this machine's own, one end is the signaled 127.0.0.1, and both pages
  // agree on the pair (a peer-reflexive address is hidden by Chromium, its port is not).
  const own = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address)));
  const pairs = await Promise.all([first, second].map((page) => page.evaluate(() => window.harness.selectedPair("p"))));
  console.log("Chromium <-> Chromium selected pairs:", JSON.stringify(pairs));
  const [one, two] = [pairs[0]!, pairs[1]!];
  for (const [mine, theirs] of [
    [one, two],
    [two, one],
  ] as const) {
    expect(own.has(mine.local)).toBe(true);
    expect(mine.remotePort).toBe(theirs.localPort);
    expect(mine.remote === "" ? mine.remoteType : mine.remote).toBe(mine.remote === "" ? "prflx" : theirs.local);
  }
  expect([one.local, two.local]).toContain(LOOPBACK);

  const firstGot = first.evaluate((total) => window.harness.received("p", total), TOTAL);
  const secondGot = second.evaluate((total) => window.harness.received("p", total), TOTAL);
  await Promise.all([
    first.evaluate(([total, size]) => window.harness.send("p", total, size, 7), [TOTAL, 48 * KiB + 1] as const),
    second.evaluate(([total, size]) => window.harness.send("p", total, size, 9000), [TOTAL, MiB] as const),
  ]);
  const [fromSecond, fromFirst] = await within(Promise.all([firstGot, secondGot]), 60_000, "both transfers");
  expect(fromFirst.sha256).toBe(sha256(...testChunks(TOTAL, 48 * KiB + 1, 7)));
  expect(fromSecond.sha256).toBe(sha256(...testChunks(TOTAL, MiB, 9000)));

  await second.evaluate(() => window.harness.close("p", 4001, "second page leaves"));
  expect(await first.evaluate(() => window.harness.closed("p"))).toEqual({ code: 4001, reason: "second page leaves" });
  for (const page of [first, second]) {
    await within(
      page.evaluate(() => window.harness.peerConnectionClosed("p")),
      10_000,
      "peer connections to close",
    );
  }
});
