// Stalls are not deaths. A relay process frozen for 10 s (SIGSTOP, then SIGCONT) drops none of its
// peers, and none of them drops it; a peer process frozen for 10 s keeps its link and its memberships,
// and on waking receives what was published to it meanwhile and answers the requests that waited for
// it. And a subscriber frozen behind a full queue is cut by the stall timeout (4005, 10 s), not by the
// heartbeat. Real processes, default settings (a 20 s heartbeat: a link is closed after 60 s of silence).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";

const keys = { work: generateKey(), news: generateKey() };
const FREEZE_MS = 10_000;
const PEERS = 20;
const text = new TextDecoder();

/** Freezes a process for `ms`, and says how long it really stayed frozen. */
async function freeze(pid: number, ms: number): Promise<number> {
  const started = performance.now();
  process.kill(pid, "SIGSTOP");
  await new Promise((resolve) => setTimeout(resolve, ms));
  process.kill(pid, "SIGCONT");
  return performance.now() - started;
}

describe("a relay frozen for 10 s", { timeout: 90_000 }, () => {
  let relay: RelayProcess;
  let member: PeerProcess;
  const peers: Connection[] = [];
  const drops: string[] = [];

  before(async () => {
    relay = await startRelay();
    member = await startPeer();
    await member.connect([relay.url], keys);
    await member.register("work", { kind: "tag" });
    for (let i = 0; i < PEERS; i++) {
      const peer = await connect({ relays: [relay.url], keys });
      peer.on("drop", ({ code, reason }) => drops.push(`peer ${i}: ${code} ${reason}`));
      await peer.subscribe("news", () => {});
      peers.push(peer);
    }
  });

  after(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    await member?.stop();
    await relay?.stop();
  });

  test("drops no peer, and no peer drops it", async () => {
    const frozeFor = await freeze(relay.child.pid!, FREEZE_MS);
    // The relay noticed its own stall (and so holds none of the silence against its peers).
    const stalled = await relay.waitForLine(/relay-stalled /);
    assert.ok(Number(/ms=(\d+)/.exec(stalled)![1]) >= FREEZE_MS - 1000, stalled);
    // Every peer works through the relay again: each request crosses it after everything queued
    // during the freeze.
    const replies = await Promise.all(peers.map((peer, i) => peer.request("work", `after-${i}`, { timeout: 10_000 })));
    for (const [i, reply] of replies.entries()) assert.ok(text.decode(reply).endsWith(`:after-${i}`));
    const left = relay.lines.filter((line) => / peer-left /.test(line));
    assert.deepEqual(left, [], "the relay dropped peers");
    assert.deepEqual(drops, [], "peers dropped the relay");
    assert.deepEqual(
      member.events.filter((event) => event.name === "drop"),
      [],
      "the member in its own process dropped the relay",
    );
    console.log(`relay frozen ${Math.round(frozeFor)} ms; ${PEERS + 1} peers kept their links`);
  });
});

describe("a peer frozen for 10 s", { timeout: 90_000 }, () => {
  let relay: RelayProcess;
  let frozen: PeerProcess;
  let caller: Connection;

  before(async () => {
    relay = await startRelay();
    frozen = await startPeer();
    await frozen.connect([relay.url], keys);
    await frozen.register("work", { kind: "tag" });
    await frozen.subscribe("news");
    caller = await connect({ relays: [relay.url], keys });
  });

  after(async () => {
    await caller?.close();
    await frozen?.stop();
    await relay?.stop();
  });

  test("keeps its link and memberships, hears what was published meanwhile, and answers what waited", async () => {
    assert.ok(text.decode(await caller.request("work", "before")).endsWith(":before"));
    const thawed = freeze(frozen.child.pid!, FREEZE_MS);
    // While it is frozen: publishes for it, and requests that only it can serve.
    for (let i = 0; i < 100; i++) await caller.publish("news", `during-${i}`);
    const waiting = Array.from({ length: 5 }, (_, i) =>
      caller.request("work", `during-${i}`, { timeout: FREEZE_MS + 20_000 }),
    );
    await thawed;
    const replies = await Promise.all(waiting);
    for (const [i, reply] of replies.entries()) assert.ok(text.decode(reply).endsWith(`:during-${i}`));
    await frozen.call("received", { kind: "published", name: "news", count: 100 });
    const heard = (await frozen.stats()).published.news!;
    assert.deepEqual(
      heard,
      Array.from({ length: 100 }, (_, i) => `during-${i}`),
    );
    assert.deepEqual(
      frozen.events.filter((event) => event.name === "drop"),
      [],
    );
    assert.deepEqual(
      relay.lines.filter((line) => / peer-left /.test(line)),
      [],
    );
    assert.ok(text.decode(await caller.request("work", "after")).endsWith(":after"));
  });
});

// Liveness and flow control together: a subscriber frozen with more queued for it than the relay's
// high-water mark is stuck, and the stall timeout (10 s, close code 4005) decides when it goes, not the
// heartbeat; the publisher the relay stopped reading meanwhile is never blamed for its silence.
describe("a subscriber frozen behind a full queue", { timeout: 120_000 }, () => {
  const STALL_TIMEOUT_MS = 10_000;
  let relay: RelayProcess;
  let frozen: PeerProcess;
  let publisher: Connection;
  const publisherDrops: string[] = [];

  before(async () => {
    relay = await startRelay();
    frozen = await startPeer();
    await frozen.connect([relay.url], keys);
    await frozen.subscribe("news");
    publisher = await connect({ relays: [relay.url], keys });
    publisher.on("drop", ({ code, reason }) => publisherDrops.push(`${code} ${reason}`));
  });

  after(async () => {
    await publisher?.close();
    await frozen?.stop();
    await relay?.stop();
  });

  test("is cut by the stall timeout (4005) after 10 s, not by the heartbeat; the publisher it held up stays", async () => {
    const pid = frozen.child.pid!;
    const drop = frozen.nextEvent("drop", 90_000);
    const reconnected = frozen.nextEvent("reconnect", 90_000);
    process.kill(pid, "SIGSTOP");
    const frozenAt = performance.now();
    let cut: string;
    try {
      // 16 MiB of incompressible bodies: far more than the loopback socket buffers and the relay's 1 MiB
      // high-water mark hold, so the relay stops reading the publisher and waits for the frozen reader.
      const body = new Uint8Array(64 * 1024);
      const publishing = (async () => {
        for (let i = 0; i < 256; i++) {
          crypto.getRandomValues(body);
          await publisher.publish("news", body);
        }
      })();
      cut = await relay.waitForLine(new RegExp(`peer-left peer=${frozen.peerId} code=`), 90_000);
      await publishing;
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const cutAfter = performance.now() - frozenAt;
    assert.match(cut, /code=4005/, `cut by the stall timeout, not the heartbeat (4007): ${cut}`);
    assert.ok(cutAfter >= STALL_TIMEOUT_MS - 500, `cut ${Math.round(cutAfter)} ms after the freeze`);
    assert.equal(relay.lines.filter((line) => /slow-consumer /.test(line)).length, 1);
    assert.deepEqual(
      relay.lines.filter((line) => / peer-left /.test(line) && !line.includes(frozen.peerId)),
      [],
      "the relay cut no one else",
    );
    assert.deepEqual(publisherDrops, [], "the publisher the relay paused kept its link");
    // On waking, the frozen peer learns why, and comes back subscribed.
    const detail = (await drop) as { code: number };
    assert.equal(detail.code, 4005);
    await reconnected;
    const heardBefore = (await frozen.stats()).published.news?.length ?? 0;
    await publisher.publish("news", "after");
    await frozen.call("received", { kind: "published", name: "news", count: heardBefore + 1 });
    assert.equal((await frozen.stats()).published.news!.at(-1), "after");
    console.log(`subscriber frozen: cut with 4005 ${Math.round(cutAfter)} ms after the freeze`);
  });
});
