// Pages as full peers: callers, members, subscribers and tunnel ends, beside a Node peer, on a real relay
// process; tunnels between them move onto direct WebRTC links (page <-> page, page <-> werift) and fall
// back to the relay when a link is cut. Only 127.0.0.1 candidates are used.

import { createHash } from "node:crypto";
import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { encodeBundle, readBundle } from "../../core/transports/bundle.ts";
import { seededBytes } from "../fixtures/data.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { LOOPBACK, loopbackOnly } from "../fixtures/webrtc-peers.ts";

const MiB = 1024 * 1024;

// Chromium offers a 127.0.0.1 candidate only to pages allowed a camera or microphone.
test.use({ permissions: ["camera", "microphone"] });

let relay: RelayProcess;
let nodePeer: Connection;
const keys = { work: generateKey(), news: generateKey(), files: generateKey() };
const nodeHeard: string[] = [];
const nodeTunnels: Array<{ sha256: string; bytes: number; inOrder: boolean; error: string | null }> = [];

test.beforeAll(async () => {
  relay = await startRelay(["--startup-grace", "0"]);
  nodePeer = await connect({
    relays: [relay.url],
    keys,
    webrtc: {
      werift: { additionalHostAddresses: [LOOPBACK], restrictToAddresses: [LOOPBACK], useIpv6: false },
      candidateFilter: loopbackOnly,
    },
  });
  await nodePeer.register("work", {
    request: (body) => `node:${new TextDecoder().decode(body)}`,
    broadcast: (body) => void nodeHeard.push(`broadcast:${new TextDecoder().decode(body)}`),
  });
  await nodePeer.subscribe("news", (body) => void nodeHeard.push(`publish:${new TextDecoder().decode(body)}`));
});

test.afterAll(async () => {
  await nodePeer?.close();
  await relay?.stop();
});

async function openPeer(page: Page, name: string): Promise<string> {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto("/");
  await expect(page.locator("#status")).toHaveText("ready");
  return page.evaluate(([n, url, k]) => window.peerKit.connect(n, url, k), [name, relay.url, keys] as const);
}

test("two pages and a Node peer: requests served by both members, broadcast and pub/sub across all three", async ({
  browser,
}) => {
  const [pageA, pageB] = await Promise.all([browser.newPage(), browser.newPage()]);
  await openPeer(pageA, "A");
  await openPeer(pageB, "B");
  await pageB.evaluate(() => window.peerKit.serve("B", "work"));
  await pageA.evaluate(() => window.peerKit.subscribe("A", "news"));
  await pageB.evaluate(() => window.peerKit.subscribe("B", "news"));

  const replies = await pageA.evaluate(async () => {
    const out: string[] = [];
    for (let i = 0; i < 200; i++) out.push(await window.peerKit.request("A", "work", `r${i}`));
    return out;
  });
  for (const [i, reply] of replies.entries()) expect(reply.endsWith(`:r${i}`)).toBe(true);
  const byPage = replies.filter((r) => r.startsWith("B:")).length;
  const byNode = replies.filter((r) => r.startsWith("node:")).length;
  expect(byPage + byNode).toBe(200);
  expect(byPage).toBeGreaterThan(40);
  expect(byNode).toBeGreaterThan(40);

  await pageA.evaluate(() => window.peerKit.broadcast("A", "work", "hello members"));
  await pageA.evaluate(() => window.peerKit.publish("A", "news", "from page A"));
  await nodePeer.publish("news", "from Node");
  await expect
    .poll(() => pageB.evaluate(() => window.peerKit.heard("B")))
    .toEqual(expect.arrayContaining(["broadcast:hello members", "publish:from page A", "publish:from Node"]));
  // Two publishers: each one's order is kept, not the order between them.
  await expect
    .poll(async () => (await pageA.evaluate(() => window.peerKit.heard("A"))).sort())
    .toEqual(["publish:from Node", "publish:from page A"]);
  await expect
    .poll(() => nodeHeard)
    .toEqual(expect.arrayContaining(["broadcast:hello members", "publish:from page A", "publish:from Node"]));
  await Promise.all([pageA.close(), pageB.close()]);
});

test("page to page: a tunnel goes direct and carries 8 MiB byte-exact; cut mid-transfer, it falls back and still does", async ({
  browser,
}) => {
  const [pageA, pageB] = await Promise.all([browser.newPage(), browser.newPage()]);
  await openPeer(pageA, "A2");
  const memberId = await openPeer(pageB, "B2");
  await pageB.evaluate(() => window.peerKit.serve("B2", "files"));

  const first = await pageA.evaluate(() => window.peerKit.sendThroughTunnel("A2", "files", 8 * 1024 * 1024, 11));
  expect(first.direct).toBe(true);
  expect(first.remotePeer).toBe(memberId);
  await expect.poll(() => pageB.evaluate(() => window.peerKit.tunnels().length)).toBe(1);
  const [received] = await pageB.evaluate(() => window.peerKit.tunnels());
  expect(received).toMatchObject({ bytes: 8 * 1024 * 1024, inOrder: true, error: null, sha256: first.sha256 });
  expect(await pageA.evaluate(() => window.peerKit.directPeers("A2"))).toEqual([memberId]);

  const second = await pageA.evaluate(() =>
    window.peerKit.sendThroughTunnel("A2", "files", 8 * 1024 * 1024, 12, 3 * 1024 * 1024),
  );
  expect(second.routes.slice(-2)).toEqual(["direct", "relay"]);
  await expect.poll(() => pageB.evaluate(() => window.peerKit.tunnels().length)).toBe(2);
  const after = (await pageB.evaluate(() => window.peerKit.tunnels()))[1]!;
  expect(after).toMatchObject({ bytes: 8 * 1024 * 1024, inOrder: true, error: null, sha256: second.sha256 });
  await Promise.all([pageA.close(), pageB.close()]);
});

test("page to Node (werift): a tunnel goes direct and carries 8 MiB byte-exact", async ({ page }) => {
  await nodePeer.register("files", {
    tunnel: async (tunnel) => {
      const hash = createHash("sha256");
      const record = { sha256: "", bytes: 0, inOrder: true, error: null as string | null };
      let messages = 0;
      try {
        for await (const message of tunnel) {
          if (new DataView(message.buffer, message.byteOffset).getUint32(0) !== messages) record.inOrder = false;
          messages++;
          record.bytes += message.length;
          hash.update(message);
        }
        record.sha256 = hash.digest("hex");
      } catch (error) {
        record.error = (error as Error).message;
      }
      nodeTunnels.push(record);
    },
  });
  await openPeer(page, "C");
  const sent = await page.evaluate(() => window.peerKit.sendThroughTunnel("C", "files", 8 * 1024 * 1024, 13));
  expect(sent.direct).toBe(true);
  expect(sent.remotePeer).toBe(nodePeer.peerId);
  await expect.poll(() => nodeTunnels.length).toBe(1);
  // The page hashed what it sent; recompute it here too, so both ends are checked against a third party.
  const expected = createHash("sha256");
  const random = seededBytes(13);
  for (let index = 0, done = 0; done < 8 * MiB; index++, done += 64 * 1024) {
    const message = random(64 * 1024);
    new DataView(message.buffer).setUint32(0, index);
    expected.update(message);
  }
  const digest = expected.digest("hex");
  expect(sent.sha256).toBe(digest);
  expect(nodeTunnels[0]).toMatchObject({ bytes: 8 * MiB, inOrder: true, error: null, sha256: digest });
});

test("a relay that alters tunnel traffic cannot feed the page a forged signal: the tunnel is refused, no direct link is made", async ({
  page,
}) => {
  // A relay in the middle that flips one bit in every tunnel piece it passes to the page: the WebRTC
  // answer (with its DTLS fingerprint) reaches the page altered.
  const { WebSocketServer, WebSocket } = await import("ws");
  const proxy = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => proxy.once("listening", () => resolve()));
  let tampered = 0;
  proxy.on("connection", (pageSide) => {
    const relaySide = new WebSocket(relay.url);
    const early: Buffer[] = [];
    relaySide.on("open", () => {
      for (const frame of early.splice(0)) relaySide.send(frame);
    });
    pageSide.on("message", (data: Buffer) =>
      relaySide.readyState === WebSocket.OPEN ? relaySide.send(data) : early.push(data),
    );
    relaySide.on("message", (data: Buffer) => {
      // A message may bundle several frames (core/transports/bundle.ts): alter each TunnelData among them.
      const frames: Uint8Array[] = [];
      readBundle(new Uint8Array(data), (frame) => {
        if (frame[1] === 0x32) {
          frame[frame.length - 1]! ^= 0x01; // TunnelData toward the page: flip a bit of the sealed piece
          tampered++;
        }
        frames.push(frame);
      });
      pageSide.send(encodeBundle(frames));
    });
    pageSide.on("close", () => relaySide.close());
    relaySide.on("close", () => pageSide.close());
  });
  const port = (proxy.address() as { port: number }).port;
  const guarded = { guarded: generateKey() };
  const member = await connect({
    relays: [relay.url],
    keys: guarded,
    webrtc: {
      werift: { additionalHostAddresses: [LOOPBACK], restrictToAddresses: [LOOPBACK], useIpv6: false },
      candidateFilter: loopbackOnly,
    },
  });
  try {
    await member.register("guarded", { tunnel: async (tunnel) => void (await tunnel.receive().catch(() => null)) });
    await page.goto("/");
    await expect(page.locator("#status")).toHaveText("ready");
    await page.evaluate(([url, k]) => window.peerKit.connect("D", url, k), [
      `ws://127.0.0.1:${port}`,
      guarded,
    ] as const);
    const outcome = await page.evaluate(() => window.peerKit.probeTunnel("D", "guarded"));
    expect(tampered).toBeGreaterThan(0);
    expect(outcome).toMatch(/^ProtocolError: /);
    expect(await page.evaluate(() => window.peerKit.directPeers("D"))).toEqual([]);
  } finally {
    await member.close();
    proxy.close();
  }
});
