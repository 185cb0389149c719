// Tunnels between two Node peers (werift) move onto a direct WebRTC link once the peers have made one,
// and fall back to the relay route when it fails, with nothing lost, duplicated or reordered.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection, Tunnel } from "../../core/node.ts";
import { seededBytes } from "../fixtures/data.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { LOOPBACK, loopbackOnly } from "../fixtures/webrtc-peers.ts";

const MiB = 1024 * 1024;
const keys = { files: generateKey() };
// Only 127.0.0.1: werift gathers it too, and nothing else is signaled or used.
const webrtc = {
  werift: { additionalHostAddresses: [LOOPBACK], restrictToAddresses: [LOOPBACK], useIpv6: false },
  candidateFilter: loopbackOnly,
};

/** Resolves when the tunnel reports `route`, or at once if it already has it. */
function routeIs(tunnel: Tunnel, route: "relay" | "direct"): Promise<void> {
  if (tunnel.route === route) return Promise.resolve();
  return new Promise((resolve) => {
    const off = tunnel.on("route", (event) => {
      if (event.route !== route) return;
      off();
      resolve();
    });
  });
}

describe("direct links between Node peers", { timeout: 120_000 }, () => {
  let relay: RelayProcess;
  let member: Connection;
  let caller: Connection;
  const received: Array<{ sha256: string; bytes: number; messages: number; order: boolean; error: string | null }> = [];
  const ended: Array<() => void> = [];

  before(async () => {
    relay = await startRelay();
    member = await connect({ relays: [relay.url], keys, webrtc });
    caller = await connect({ relays: [relay.url], keys, webrtc });
    await member.register("files", {
      tunnel: async (tunnel) => {
        const hash = createHash("sha256");
        const record = { sha256: "", bytes: 0, messages: 0, order: true, error: null as string | null };
        try {
          for await (const message of tunnel) {
            // Every message starts with its index: the reader checks nothing is repeated or out of order.
            if (new DataView(message.buffer, message.byteOffset).getUint32(0) !== record.messages) record.order = false;
            record.messages++;
            record.bytes += message.length;
            hash.update(message);
          }
          record.sha256 = hash.digest("hex");
        } catch (error) {
          record.error = (error as Error).message;
        }
        received.push(record);
        ended.shift()?.();
      },
    });
  });

  after(async () => {
    await caller?.close();
    await member?.close();
    await relay?.stop();
  });

  async function transfer(
    total: number,
    duringSend?: (sent: number) => void,
  ): Promise<{ sha256: string; routes: string[] }> {
    const done = new Promise<void>((resolve) => ended.push(resolve));
    const tunnel = await caller.tunnel("files");
    const routes: string[] = [tunnel.route];
    tunnel.on("route", ({ route }) => routes.push(route));
    await routeIs(tunnel, "direct");
    const hash = createHash("sha256");
    const random = seededBytes(total);
    const size = 64 * 1024;
    for (let index = 0, sent = 0; sent < total; index++, sent += size) {
      const message = random(size);
      new DataView(message.buffer).setUint32(0, index);
      hash.update(message);
      await tunnel.send(message);
      duringSend?.(sent + size);
    }
    await tunnel.close();
    await done;
    return { sha256: hash.digest("hex"), routes };
  }

  test("a tunnel reports a direct route and carries 8 MiB byte-exact over it", async () => {
    const { sha256, routes } = await transfer(8 * MiB);
    assert.equal(routes.at(-1), "direct");
    const record = received.at(-1)!;
    assert.equal(record.error, null);
    assert.equal(record.bytes, 8 * MiB);
    assert.equal(record.sha256, sha256);
    assert.ok(record.order, "in order, nothing repeated");
    assert.deepEqual(caller.directPeers(), [member.peerId]);
    assert.deepEqual(member.directPeers(), [caller.peerId]);
  });

  test("a process stalled for 4 s keeps its direct links: silence is counted in awake time", async () => {
    assert.deepEqual(caller.directPeers(), [member.peerId], "the link from the test before");
    const closed: string[] = [];
    const offCaller = caller.on("direct", (event) => event.open || closed.push(`caller lost ${event.peerId}`));
    const offMember = member.on("direct", (event) => event.open || closed.push(`member lost ${event.peerId}`));
    // Both peers live in this process: block it, as a long task or a starved CPU would, for longer than
    // three heartbeats (3 s). Every frame of the other end waits unread meanwhile.
    const until = Date.now() + 4000;
    while (Date.now() < until) {}
    // The watchdogs look at the links several times while this runs.
    const { sha256, routes } = await transfer(1 * MiB);
    offCaller();
    offMember();
    assert.deepEqual(closed, []);
    assert.deepEqual(routes, ["direct"], "the tunnel went direct at once, on the link that survived");
    assert.equal(received.at(-1)!.sha256, sha256);
    assert.deepEqual(caller.directPeers(), [member.peerId]);
  });

  test("when the direct link is closed by force mid-transfer, the tunnel falls back to the relay and loses nothing", async () => {
    let dropped = false;
    const { sha256, routes } = await transfer(8 * MiB, (sent) => {
      if (!dropped && sent >= 3 * MiB) {
        dropped = true;
        // Cut, not closed: whatever the link still held is lost, as when a network path fails.
        caller.dropDirectLink(member.peerId, { abrupt: true });
      }
    });
    const record = received.at(-1)!;
    assert.ok(dropped);
    assert.deepEqual(routes.slice(-2), ["direct", "relay"], "the application was told of the fallback");
    assert.equal(record.error, null);
    assert.equal(record.bytes, 8 * MiB);
    assert.equal(record.sha256, sha256, "byte-exact after the fallback");
    assert.ok(record.order, "in order, nothing repeated");
  });
});

describe("requests that keep landing on one member", { timeout: 120_000 }, () => {
  let relay: RelayProcess;
  let member: Connection;
  let caller: Connection;

  before(async () => {
    relay = await startRelay();
    member = await connect({ relays: [relay.url], keys, webrtc });
    caller = await connect({ relays: [relay.url], keys, webrtc });
    await member.register("files", { request: (body) => body });
  });

  after(async () => {
    await caller?.close();
    await member?.close();
    await relay?.stop();
  });

  test("move onto a direct link (one in eight still through the relay), and back when the link is cut", async () => {
    const opened = caller.next("direct");
    for (let i = 0; i < 40; i++)
      assert.equal(new TextDecoder().decode(await caller.request("files", `a${i}`)), `a${i}`);
    // 32 replies all named the same member: the caller set up a direct link to it.
    assert.deepEqual(await opened, { peerId: member.peerId, open: true });
    const before = caller.requestRoutes;
    for (let i = 0; i < 80; i++)
      assert.equal(new TextDecoder().decode(await caller.request("files", `b${i}`)), `b${i}`);
    const after = caller.requestRoutes;
    assert.equal(after.direct - before.direct, 70, "7 in 8 went straight to the member");
    assert.equal(after.relayed - before.relayed, 10, "and 1 in 8 through the relay, to keep watching the balancing");

    // Cut the link with requests in flight over it: they go again through the relay, answered once.
    const inFlight = Array.from({ length: 50 }, (_, i) => caller.request("files", `c${i}`, { timeout: 10_000 }));
    caller.dropDirectLink(member.peerId, { abrupt: true });
    const replies = await Promise.all(inFlight);
    for (const [i, reply] of replies.entries()) assert.equal(new TextDecoder().decode(reply), `c${i}`);
    assert.equal(caller.pendingRequests, 0);
  });
});
