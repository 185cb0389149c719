// A peer cut by its relay learns it at once, with the reason, whatever the reason and whatever is queued
// for it. A cut with nothing queued closes the link with the reason; a cut behind queued data resets the
// connection, so that the peer is not left reading megabytes before it hears of it, and the relay then
// answers the peer's next dial with the reason. Real relay and peer processes.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { WebSocket } from "ws";
import { connect, generateKey } from "../../core/node.ts";
import {
  CloseCode,
  connect as connectWith,
  nodeCrypto,
  nodeScheduling,
  webSocketDialer,
} from "../../core/internal.node.ts";
import type { Connection } from "../../core/node.ts";
import type { WebSocketLike } from "../../core/transports/websocket.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";

const keys = { news: generateKey(), work: generateKey() };
const MiB = 1024 * 1024;
const text = new TextDecoder();

/** Freezes a process for `ms`. */
async function freeze(pid: number, ms: number): Promise<void> {
  process.kill(pid, "SIGSTOP");
  await new Promise((resolve) => setTimeout(resolve, ms));
  process.kill(pid, "SIGCONT");
}

describe("a subscriber cut as a slow consumer", { timeout: 120_000 }, () => {
  let relay: RelayProcess;
  let publisher: Connection;
  let slow: Connection;
  let slowTcp: Socket | null = null;

  before(async () => {
    relay = await startRelay(["--queue-limit", String(MiB)]);
    // The slow peer's `ws` client hands over its TCP socket, so the test can make it read slowly.
    const dialer = webSocketDialer((url, maxFrame) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: maxFrame });
      socket.binaryType = "nodebuffer";
      socket.once("upgrade", (response) => (slowTcp = response.socket as Socket));
      return socket as unknown as WebSocketLike;
    });
    slow = await connectWith({
      relays: [relay.url],
      keys,
      dialer,
      crypto: nodeCrypto,
      scheduling: nodeScheduling,
      reconnect: { initialDelay: 50, maxDelay: 500 },
    });
    await slow.subscribe("news", () => {});
    publisher = await connect({ relays: [relay.url], keys, compressAbove: Number.POSITIVE_INFINITY });
  });

  after(async () => {
    await Promise.all([publisher?.close(), slow?.close()]);
    await relay?.stop();
  });

  test("gets its drop event within seconds of the cut, with code 4005 and the reason, though it reads slowly", async (t) => {
    const socket = slowTcp as Socket | null;
    assert.ok(socket);
    // It reads one chunk (at most 64 KiB) every 200 ms, about 300 KB/s: whatever is queued ahead of a
    // close (the relay's megabyte, and the megabytes in socket buffers) would keep it reading for seconds.
    socket.pause();
    socket.on("data", () => socket.pause());
    const trickle = setInterval(() => socket.resume(), 200);
    t.after(() => clearInterval(trickle));
    const dropped = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
      slow.once("drop", (drop) => resolve({ ...drop, at: performance.now() })),
    );
    let cutAt = 0;
    const cut = relay.waitForLine(/slow-consumer /, 60_000).then((line) => {
      cutAt = performance.now();
      return line;
    });
    const body = new Uint8Array(32 * 1024);
    let published = 0;
    while (cutAt === 0 && published < 4000) {
      await publisher.publish("news", body);
      published++;
    }
    await cut;
    const drop = await dropped;
    const after = drop.at - cutAt;
    t.diagnostic(
      `published ${published} messages of 32 KiB; drop event ${Math.round(after)} ms after the cut: ${drop.code} ${drop.reason}`,
    );
    assert.equal(drop.code, CloseCode.SlowConsumer);
    // The reason came with the relay's answer to the next dial: the link itself was reset.
    assert.match(drop.reason, /^slow consumer: .* \(\d+ ms ago\)$/);
    assert.ok(after < 5000, `the drop event came ${Math.round(after)} ms after the cut`);
    // And it comes back by itself, subscribed again.
    clearInterval(trickle);
    socket.resume();
    await slow.restored();
  });
});

describe("a peer frozen past its relay's patience", { timeout: 120_000 }, () => {
  let relay: RelayProcess;
  let frozen: PeerProcess;
  let caller: Connection;

  before(async () => {
    // A 1 s heartbeat: a peer silent for 3 s is cut.
    relay = await startRelay(["--heartbeat", "1000", "--queue-limit", String(64 * MiB)]);
    frozen = await startPeer();
    await frozen.connect([relay.url], keys);
    await frozen.register("work", { kind: "tag" });
    await frozen.subscribe("news");
    caller = await connect({ relays: [relay.url], keys, compressAbove: Number.POSITIVE_INFINITY });
  });

  after(async () => {
    await caller?.close();
    await frozen?.stop();
    await relay?.stop();
  });

  for (const queued of [false, true]) {
    test(`${queued ? "with 8 MB queued for it (reset)" : "with nothing queued (close)"}: learns on waking that it was cut for silence, and comes back with its membership`, async () => {
      const drop = frozen.nextEvent("drop", 60_000);
      const reconnected = frozen.nextEvent("reconnect", 60_000);
      const thawed = freeze(frozen.child.pid!, 6000);
      // Queued before the relay gives up on it (after 3 s of silence): 8 MB that the frozen peer does not
      // read, most of it left in the relay once the socket buffers are full.
      if (queued) {
        const body = new Uint8Array(32 * 1024);
        for (let i = 0; i < 256; i++) await caller.publish("news", body);
      }
      await relay.waitForLine(new RegExp(`peer-left peer=${frozen.peerId} code=${CloseCode.HeartbeatTimeout}`), 30_000);
      relay.lines.length = 0;
      await thawed;
      const woke = performance.now();
      const detail = (await drop) as { code: number; reason: string };
      const after = performance.now() - woke;
      assert.equal(detail.code, CloseCode.HeartbeatTimeout, JSON.stringify(detail));
      // Reset behind queued data, the reason comes with the relay's answer to the next dial.
      assert.match(detail.reason, queued ? /^no frame for \d+ ms \(\d+ ms ago\)$/ : /^no frame for \d+ ms$/);
      assert.ok(after < 5000, `drop event ${Math.round(after)} ms after waking`);
      await reconnected;
      assert.ok(text.decode(await caller.request("work", "back", { timeout: 10_000 })).endsWith(":back"));
    });
  }
});
