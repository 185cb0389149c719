// Slow and stuck consumers on a live relay process, with flow control: a publisher publishes as fast as
// its link takes it to two subscribers that keep up and one that is either slow (it reads a chunk now
// and then) or stuck (it stops reading altogether).
//
// Slow: nobody is dropped and nothing is lost. The relay stops reading from the publisher whenever the
// slow subscriber's queue passes the high-water mark, so the publisher slows to the slow subscriber's
// pace (its publishes take about as long as the slow reader needs for the bytes), every subscriber hears
// every message in order, and the relay holds about the high-water mark for the slow one, not a backlog.
//
// Stuck: the relay cuts the stuck subscriber once it has made no progress for the stall timeout (close
// code 4005, logged `slow-consumer`); until then it holds the publisher up, no longer; the others hear
// everything in order, and the stuck peer, once it reads again, gets a `drop` event with that code.

import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import {
  CloseCode,
  connect as connectWith,
  nodeCrypto,
  nodeScheduling,
  webSocketDialer,
} from "../../core/internal.node.ts";
import type { WebSocketLike } from "../../core/transports/websocket.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const MiB = 1024 * 1024;
const HIGH_WATER = 256 * 1024;
const STALL_MS = 1500;
const MESSAGE_BYTES = 32 * 1024;
/** Room for the relay's own churn while forwarding (measured: 30-40 MiB), not for a backlog. */
const MARGIN = 56 * MiB;
const keys = { news: generateKey() };

interface Scene {
  relay: RelayProcess;
  publisher: Connection;
  /** The subscriber the test slows down or stops, and the TCP socket under its WebSocket. */
  reader: Connection;
  readerTcp: Socket;
  readerHeard: number[];
  fastHeard: number[][];
  fastDrops: unknown[];
  /** Resolves once every fast subscriber has heard `count` messages. */
  fastHeardAll(count: number): Promise<void>;
  close(): Promise<void>;
}

async function scene(relayArgs: string[]): Promise<Scene> {
  const relay = await startRelay(relayArgs);
  let readerTcp: Socket | null = null;
  // The reader dials with a plain `ws` client that keeps its TCP socket (given by the public 'upgrade'
  // event), so the test can stop it reading.
  const dialer = webSocketDialer((url, maxFrame) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: maxFrame });
    socket.binaryType = "nodebuffer";
    socket.once("upgrade", (response) => (readerTcp = response.socket as Socket));
    return socket as unknown as WebSocketLike;
  });
  const reader = await connectWith({
    relays: [relay.url],
    keys,
    dialer,
    crypto: nodeCrypto,
    scheduling: nodeScheduling,
  });
  const readerHeard: number[] = [];
  await reader.subscribe("news", (body) => void readerHeard.push(seqOf(body)));
  const fastHeard: number[][] = [[], []];
  const fastDrops: unknown[] = [];
  const waiters: Array<{ count: number; wake(): void }> = [];
  const fast: Connection[] = [];
  for (const list of fastHeard) {
    const subscriber = await connect({ relays: [relay.url], keys });
    subscriber.on("drop", (detail) => void fastDrops.push(detail));
    await subscriber.subscribe("news", (body) => {
      list.push(seqOf(body));
      for (const waiter of [...waiters]) {
        if (Math.min(...fastHeard.map((heard) => heard.length)) < waiter.count) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.wake();
      }
    });
    fast.push(subscriber);
  }
  // Random bodies do not compress: no time spent trying.
  const publisher = await connect({ relays: [relay.url], keys, compressAbove: Infinity });
  assert.ok(readerTcp, "the reader's TCP socket");
  return {
    relay,
    publisher,
    reader,
    readerTcp,
    readerHeard,
    fastHeard,
    fastDrops,
    fastHeardAll: (count) =>
      Math.min(...fastHeard.map((heard) => heard.length)) >= count
        ? Promise.resolve()
        : new Promise((wake) => waiters.push({ count, wake })),
    close: async () => {
      await Promise.all([publisher, reader, ...fast].map((c) => c.close()));
      await relay.stop();
    },
  };
}

function seqOf(body: Uint8Array): number {
  return new DataView(body.buffer, body.byteOffset).getUint32(0);
}

/** Publishes `count` messages as fast as publish() lets it; returns how long that took. */
async function publishAll(publisher: Connection, count: number): Promise<number> {
  const body = new Uint8Array(MESSAGE_BYTES);
  crypto.getRandomValues(body);
  const started = performance.now();
  for (let seq = 0; seq < count; seq++) {
    new DataView(body.buffer).setUint32(0, seq);
    await publisher.publish("news", body);
  }
  return performance.now() - started;
}

function inOrder(heard: number[], count: number): boolean {
  return heard.length === count && heard.every((seq, at) => seq === at);
}

/** Samples the relay's resident size every 50 ms until stopped; returns the peak. */
function sampleRss(relay: RelayProcess): { stop(): number } {
  let peak = 0;
  const timer = setInterval(
    () =>
      void relay.rss().then(
        (rss) => (peak = Math.max(peak, rss)),
        () => {},
      ),
    50,
  );
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

describe("flow control through a relay", { timeout: 120_000 }, () => {
  test("a slow subscriber that keeps reading slows the publisher to its pace: nobody dropped, nothing lost", async (t) => {
    const s = await scene(["--queue-high-water", String(HIGH_WATER), "--stall-timeout", "10000"]);
    t.after(() => s.close());
    const baseline = await s.relay.rss();
    const rss = sampleRss(s.relay);
    // The reader takes one chunk (at most 64 KiB) every TRICKLE_MS: about 6 MB/s, a fraction of what the
    // publisher could send. 32 MiB is more than the loopback sockets' buffers hold on the way.
    const TRICKLE_MS = 10;
    const MESSAGES = 1024;
    const socket = s.readerTcp;
    socket.pause();
    const repause = () => socket.pause();
    socket.on("data", repause);
    const trickle = setInterval(() => socket.resume(), TRICKLE_MS);
    t.after(() => clearInterval(trickle));

    const elapsedMs = await publishAll(s.publisher, MESSAGES);
    await s.fastHeardAll(MESSAGES);
    // The publisher finished while the reader still had up to the relay's high-water mark (and its own
    // socket buffers) to read: let it read freely now and hear the rest.
    clearInterval(trickle);
    socket.off("data", repause);
    socket.resume();
    const started = Date.now();
    while (s.readerHeard.length < MESSAGES && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const peak = rss.stop();

    assert.ok(inOrder(s.readerHeard, MESSAGES), `the slow reader heard ${s.readerHeard.length} of ${MESSAGES}`);
    for (const [i, heard] of s.fastHeard.entries()) assert.ok(inOrder(heard, MESSAGES), `fast subscriber ${i}`);
    assert.deepEqual(s.fastDrops, [], "no subscriber was dropped");
    assert.equal(s.relay.lines.filter((line) => /slow-consumer /.test(line)).length, 0);
    // Held back: the relay stopped reading the publisher whenever the slow reader's queue was full.
    const stats = (await s.publisher.inspect()).stats!;
    const published = MESSAGES * MESSAGE_BYTES;
    t.diagnostic(
      `published ${(published / MiB).toFixed(0)} MiB in ${(elapsedMs / 1000).toFixed(1)} s at the slow reader's pace; ` +
        `relay RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB; ` +
        `the relay paused the publisher ${stats.pauses} times`,
    );
    assert.ok(stats.pauses > 0, "the relay never paused the publisher: flow control did not hold it back");
    assert.equal(stats.slowConsumerDrops, 0);
    assert.ok(peak <= baseline + MARGIN, `relay RSS peaked at ${(peak / MiB).toFixed(1)} MiB`);
  });

  test("a subscriber that stops reading is cut after the stall timeout and told so; the others go on", async (t) => {
    const s = await scene(["--queue-high-water", String(HIGH_WATER), "--stall-timeout", String(STALL_MS)]);
    t.after(() => s.close());
    const baseline = await s.relay.rss();
    const rss = sampleRss(s.relay);
    const MESSAGES = 640; // 20 MiB
    const socket = s.readerTcp;
    socket.pause();
    const dropped = new Promise<{ code: number; reason: string }>((resolve) => s.reader.once("drop", resolve));
    const logged = s.relay.waitForLine(/slow-consumer /, 60_000);

    const elapsedMs = await publishAll(s.publisher, MESSAGES);
    await s.fastHeardAll(MESSAGES);
    const peak = rss.stop();

    const line = await logged;
    assert.match(line, new RegExp(`peer=${s.reader.peerId.slice(0, 12)}`));
    await s.relay.waitForLine(new RegExp(`peer-left peer=${s.reader.peerId} code=${CloseCode.SlowConsumer}`));
    assert.equal(s.relay.lines.filter((l) => /slow-consumer /.test(l)).length, 1, "only the stuck reader was cut");
    // The stuck reader answers no ping, but the heartbeat (60 s of silence by default) never races the
    // stall timeout: nobody is cut for silence.
    assert.deepEqual(
      s.relay.lines.filter((l) => new RegExp(`code=${CloseCode.HeartbeatTimeout}`).test(l)),
      [],
    );
    // Reading again, the stuck peer learns why it was cut.
    socket.resume();
    const drop = await dropped;
    assert.equal(drop.code, CloseCode.SlowConsumer, `drop event: ${JSON.stringify(drop)}`);
    for (const [i, heard] of s.fastHeard.entries()) assert.ok(inOrder(heard, MESSAGES), `fast subscriber ${i}`);
    assert.deepEqual(s.fastDrops, []);
    t.diagnostic(
      `published ${((MESSAGES * MESSAGE_BYTES) / MiB).toFixed(0)} MiB in ${(elapsedMs / 1000).toFixed(1)} s; ` +
        `relay RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB`,
    );
    // Held up by the stuck reader for the stall timeout at most (and some slack for a loaded machine).
    assert.ok(elapsedMs < STALL_MS + 20_000, `publishing took ${elapsedMs.toFixed(0)} ms`);
    assert.ok(peak <= baseline + MARGIN, `relay RSS peaked at ${(peak / MiB).toFixed(1)} MiB`);
  });
});
