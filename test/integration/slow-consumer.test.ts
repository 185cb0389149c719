// A slow consumer on a live relay process with a 1 MiB outbound queue limit: a publisher publishes as
// fast as its link takes it, two subscribers keep up, and one subscriber reads at about 1% of the
// publish rate (its socket is paused, and resumed for one chunk now and then).
//
// Asserted: the relay drops the slow subscriber (close code 4005 SlowConsumer, logged `slow-consumer`),
// and the slow peer, once it reads again, gets a "drop" event with that code; its memory on the relay
// stays under the cap (the relay's resident size, sampled throughout, stays within baseline + cap +
// margin while ~100 MB are published: had the relay kept queueing for the slow subscriber, it would
// hold most of that); the other subscribers receive every message, in order, and are never dropped.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { WebSocket } from "ws";
import { CloseCode, connect, generateKey, webSocketDialer } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import type { WebSocketLike } from "../../core/transports/websocket.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const MiB = 1024 * 1024;
const QUEUE_LIMIT = 1 * MiB;
const MESSAGE_BYTES = 32 * 1024;
const MESSAGES = 3200; // 100 MiB
/** Room for the relay's own churn at ~15 MB/s of forwarding (measured: 30-40 MiB), not for a backlog. */
const MARGIN = 56 * MiB;
/** The slow subscriber reads one chunk (at most 64 KiB) this often: about 1% of the publish rate. */
const TRICKLE_MS = 400;
/**
 * The publisher stays at most this many messages (2 MiB) ahead of the fast subscribers. They share this
 * process's one thread with it (each 32 KiB message is sealed once and opened twice here), and without
 * a bound it could outrun them past the relay's 1 MiB queue limit too: then they would be slow as well.
 */
const WINDOW = 64;
const keys = { news: generateKey() };

describe("a slow consumer", { timeout: 120_000 }, () => {
  let relay: RelayProcess;
  let publisher: Connection;
  let slow: Connection;
  let slowTcp: Socket | null = null;
  const fast: Connection[] = [];
  const heard: number[][] = [[], []];
  /** Resolved by each fast subscriber's handler when it has heard every message. */
  const heardAll: Array<Promise<void>> = [];
  /** The publisher waiting for the fast subscribers to catch up: wakes when both have heard `upTo`. */
  let catchUp: { upTo: number; wake: () => void } | null = null;
  const leastHeard = () => Math.min(...heard.map((list) => list.length));
  const fastDrops: unknown[] = [];

  before(async () => {
    relay = await startRelay(["--queue-limit", String(QUEUE_LIMIT)]);
    // The slow peer dials with a plain `ws` client that keeps its TCP socket (given by the public
    // 'upgrade' event), so the test can stop it reading.
    const dialer = webSocketDialer((url, maxFrame) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: maxFrame });
      socket.binaryType = "nodebuffer";
      socket.once("upgrade", (response) => (slowTcp = response.socket as Socket));
      return socket as unknown as WebSocketLike;
    });
    slow = await connect({ relays: [relay.url], keys, dialer });
    await slow.subscribe("news", () => {});
    for (const [i, list] of heard.entries()) {
      const subscriber = await connect({ relays: [relay.url], keys });
      subscriber.on("drop", (detail) => void fastDrops.push(detail));
      let all!: () => void;
      heardAll.push(new Promise((resolve) => (all = resolve)));
      await subscriber.subscribe("news", (body) => {
        list.push(new DataView(body.buffer, body.byteOffset).getUint32(0));
        if (list.length === MESSAGES) all();
        if (catchUp && leastHeard() >= catchUp.upTo) catchUp.wake();
      });
      fast[i] = subscriber;
    }
    // Random bodies do not compress: no time spent trying.
    publisher = await connect({ relays: [relay.url], keys, compressAbove: Infinity });
  });

  after(async () => {
    await Promise.all([publisher, slow, ...fast].map((c) => c?.close()));
    await relay?.stop();
  });

  test("is dropped with 4005 while the others receive everything in order, and the relay stays within its cap", async (t) => {
    const baseline = await relay.rss();
    let sampledPeak = baseline;
    const sampler = setInterval(
      () =>
        void relay.rss().then(
          (rss) => (sampledPeak = Math.max(sampledPeak, rss)),
          () => {},
        ),
      50,
    );
    t.after(() => clearInterval(sampler));

    // Stop the slow peer's socket reading, then let it read one chunk every TRICKLE_MS: it falls
    // behind, yet hears enough not to time the relay out.
    const socket = slowTcp as Socket | null;
    assert.ok(socket, "the slow peer's TCP socket");
    socket.pause();
    let slowBytes = 0;
    const repause = (chunk: Buffer) => {
      slowBytes += chunk.length;
      socket.pause();
    };
    socket.on("data", repause);
    const trickle = setInterval(() => socket.resume(), TRICKLE_MS);
    t.after(() => clearInterval(trickle));
    const dropped = new Promise<{ code: number; reason: string }>((resolve) => slow.once("drop", resolve));
    const logged = relay.waitForLine(/slow-consumer /, 60_000);

    const body = new Uint8Array(MESSAGE_BYTES);
    crypto.getRandomValues(body);
    const started = performance.now();
    for (let seq = 0; seq < MESSAGES; seq++) {
      new DataView(body.buffer).setUint32(0, seq);
      await publisher.publish("news", body);
      if (seq - leastHeard() >= WINDOW) {
        await new Promise<void>((wake) => (catchUp = { upTo: seq - WINDOW / 2, wake }));
        catchUp = null;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const drops = () => relay.lines.filter((l) => /slow-consumer |peer-left /.test(l)).join("\n");
    const heardSoFar = () =>
      `the fast subscribers heard ${heard.map((l) => l.length).join(" and ")} of ${MESSAGES}; relay:\n${drops()}`;
    await withTimeout(Promise.all(heardAll), 30_000, heardSoFar);
    clearInterval(sampler);
    clearInterval(trickle);

    // The relay said so, and named the slow peer.
    const line = await logged;
    assert.match(line, new RegExp(`peer=${slow.peerId.slice(0, 12)}`));
    assert.match(line, /policy=disconnect/);
    await relay.waitForLine(new RegExp(`peer-left peer=${slow.peerId} code=${CloseCode.SlowConsumer}`));
    assert.equal(relay.lines.filter((l) => /slow-consumer /.test(l)).length, 1, "only the slow subscriber was dropped");
    // Reading again, the slow peer finds the relay's close behind what was queued for it.
    socket.off("data", repause);
    socket.resume();
    const drop = await dropped;
    assert.equal(drop.code, CloseCode.SlowConsumer, `drop event: ${JSON.stringify(drop)}`);

    // The others: every message, in order, and never dropped.
    for (const [i, list] of heard.entries()) {
      assert.equal(list.length, MESSAGES, `subscriber ${i}`);
      assert.ok(
        list.every((seq, at) => seq === at),
        `subscriber ${i} heard messages out of order`,
      );
    }
    assert.deepEqual(fastDrops, []);

    const published = MESSAGES * MESSAGE_BYTES;
    const ratio = slowBytes / published;
    t.diagnostic(
      `published ${(published / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s; the slow subscriber read ${(slowBytes / MiB).toFixed(2)} MiB ` +
        `(${(ratio * 100).toFixed(1)}% of the published bytes); relay RSS baseline ${(baseline / MiB).toFixed(1)} MiB, sampled peak ` +
        `${(sampledPeak / MiB).toFixed(1)} MiB, lifetime peak ${((await relay.peakRss()) / MiB).toFixed(1)} MiB`,
    );
    assert.ok(ratio < 0.05, `the slow subscriber read ${(ratio * 100).toFixed(1)}%: not slow enough to prove anything`);
    const limit = baseline + QUEUE_LIMIT + MARGIN;
    const peakMiB = (sampledPeak / MiB).toFixed(1);
    assert.ok(
      sampledPeak <= limit,
      `relay RSS peaked at ${peakMiB} MiB, over baseline + cap + margin ${(limit / MiB).toFixed(1)} MiB`,
    );
  });
});

function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what()}`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
