// The Link contract, one suite run against every transport that can run in Node: in-memory links, real
// WebSocket links on 127.0.0.1, the data channel link (over a deterministic fake channel pair), and the
// network-key secured link in front of each kind of link. Each test gets a fresh pair of connected ends.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CloseCode, memoryLinkPair } from "../../../core/internal.ts";
import type { Link } from "../../../core/internal.ts";
import { listenWebSocket, nodeWebSocketDialer } from "../../../core/internal.node.ts";
import type { WebSocketListener } from "../../../core/internal.node.ts";
import { deferred, noiseBytes, settle, TEST_TIMEOUT } from "../../fixtures/mesh.ts";
import { fakeChannelPair } from "../../fixtures/fake-data-channel.ts";
import { DataChannelLink } from "../../../core/transports/webrtc-link.ts";
import { networkKeys, secureLink } from "../../../core/transports/secure-link.ts";
import { systemClock } from "../../../core/util/clock.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

const MiB = 1024 * 1024;
const MAX_FRAME = 2 * MiB;

interface Pair {
  a: Link;
  b: Link;
}

type PairFactory = () => Promise<Pair>;

interface Capabilities {
  /** A paused end stops reading, so the sender's buffer grows and later drains (WebSocket in Node, memory). */
  backpressure: boolean;
}

/** Listens on an end and records what arrives; `frames(n)` waits until n frames have arrived. */
function record(link: Link) {
  const frames: Uint8Array[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  const closed = deferred<{ code: number; reason: string }>();
  let want: { count: number; done(): void } | null = null;
  link.listen({
    frame: (bytes) => {
      assert.ok(bytes instanceof Uint8Array);
      // A copy as a plain Uint8Array: WebSocket links hand over Node Buffers, whose slice() is a view.
      frames.push(new Uint8Array(bytes));
      if (want && frames.length >= want.count) want.done();
    },
    close: (code, reason) => {
      closes.push({ code, reason });
      closed.resolve({ code, reason });
    },
    drain: () => drains.push(link.bufferedAmount),
  });
  const drains: number[] = [];
  return {
    frames,
    closes,
    drains,
    closed: closed.promise,
    until(count: number): Promise<void> {
      if (frames.length >= count) return Promise.resolve();
      return new Promise<void>((resolve) => (want = { count, done: resolve }));
    },
  };
}

function linkContract(name: string, makePair: PairFactory, quiet: () => Promise<void>, can: Capabilities): void {
  describe(`Link contract: ${name}`, TEST_TIMEOUT, () => {
    test("frames arrive in order and intact, from 0 bytes to 1 MiB, both ways", async () => {
      const { a, b } = await makePair();
      const atA = record(a);
      const atB = record(b);
      const frames = [
        new Uint8Array(0),
        Uint8Array.of(7),
        noiseBytes(1000, 1),
        noiseBytes(MiB, 2),
        new Uint8Array(0),
        ...Array.from({ length: 200 }, (_, i) => noiseBytes(1 + (i % 50), 100 + i)),
        noiseBytes(MiB, 3),
      ];
      for (const frame of frames) a.send(frame);
      const replies = frames.slice(0, 20).reverse();
      for (const frame of replies) b.send(frame);
      await Promise.all([atB.until(frames.length), atA.until(replies.length)]);
      assert.equal(atB.frames.length, frames.length);
      for (const [i, frame] of frames.entries())
        assert.deepEqual(atB.frames[i], frame, `frame ${i} (${frame.length} bytes)`);
      for (const [i, frame] of replies.entries()) assert.deepEqual(atA.frames[i], frame, `reply ${i}`);
      a.close();
      await Promise.all([atA.closed, atB.closed]);
    });

    test("frames sent before the other end listens are delivered once it does", async () => {
      const { a, b } = await makePair();
      const atA = record(a);
      a.send(Uint8Array.of(1));
      a.send(Uint8Array.of(2, 2));
      a.send(Uint8Array.of(3, 3, 3));
      // Give the frames time to reach b's side before b installs handlers. Nothing can be awaited
      // here because b is not listening yet; if they have not arrived, the test passes trivially.
      await quiet();
      const atB = record(b);
      await atB.until(3);
      assert.deepEqual(atB.frames, [Uint8Array.of(1), Uint8Array.of(2, 2), Uint8Array.of(3, 3, 3)]);
      assert.throws(() => b.listen({ frame: () => {}, close: () => {} }), /already/, "handlers are installed once");
      a.close();
      await Promise.all([atA.closed, atB.closed]);
    });

    for (const closer of ["a", "b"] as const) {
      test(`close(code, reason) by ${closer} reaches both close handlers once, with that code and reason`, async () => {
        const pair = await makePair();
        const atA = record(pair.a);
        const atB = record(pair.b);
        const [closing, other] = closer === "a" ? [pair.a, atB] : [pair.b, atA];
        const self = closer === "a" ? atA : atB;
        assert.equal(closing.closed, false);
        closing.close(CloseCode.Replaced, "replaced by a test");
        assert.equal(closing.closed, true, "closed at once for the closing end");
        assert.deepEqual(await other.closed, { code: CloseCode.Replaced, reason: "replaced by a test" });
        assert.deepEqual(await self.closed, { code: CloseCode.Replaced, reason: "replaced by a test" });
        closing.close(CloseCode.Normal, "again");
        await quiet();
        assert.equal(atA.closes.length, 1);
        assert.equal(atB.closes.length, 1);
        assert.equal(pair.a.closed && pair.b.closed, true);
      });
    }

    test("frames sent before close are delivered; send after close is a no-op", async () => {
      const { a, b } = await makePair();
      const atA = record(a);
      const atB = record(b);
      a.send(Uint8Array.of(1));
      a.close(CloseCode.Normal, "done");
      assert.doesNotThrow(() => a.send(Uint8Array.of(2)));
      await atB.closed;
      assert.doesNotThrow(() => b.send(Uint8Array.of(3)));
      await quiet();
      assert.deepEqual(atB.frames, [Uint8Array.of(1)]);
      assert.deepEqual(atA.frames, []);
    });

    test("a paused end delivers nothing until resumed, then everything in order, the close last", async () => {
      const { a, b } = await makePair();
      record(a);
      const atB = record(b);
      b.pause();
      assert.equal(b.paused, true);
      for (let i = 1; i <= 5; i++) a.send(Uint8Array.of(i, i));
      a.close(CloseCode.Normal, "after the frames");
      await quiet();
      assert.deepEqual(atB.frames, [], "nothing while paused");
      assert.deepEqual(atB.closes, [], "not even the close");
      b.resume();
      assert.equal(b.paused, false);
      await atB.closed;
      assert.deepEqual(
        atB.frames,
        [1, 2, 3, 4, 5].map((i) => Uint8Array.of(i, i)),
      );
    });

    test("a handler may pause its link: the frames behind wait for resume()", async () => {
      const { a, b } = await makePair();
      record(a);
      const got: number[] = [];
      const three = deferred();
      b.listen({
        frame: (bytes) => {
          got.push(bytes[0]!);
          if (bytes[0] === 2) b.pause();
          if (got.length === 3) three.resolve();
        },
        close: () => {},
      });
      for (let i = 1; i <= 3; i++) a.send(Uint8Array.of(i));
      await quiet();
      assert.deepEqual(got, [1, 2]);
      b.resume();
      await three.promise;
      assert.deepEqual(got, [1, 2, 3]);
      a.close();
    });

    if (can.backpressure) {
      test("frames held by a paused end count in the sender's bufferedAmount; drain fires once it empties", async () => {
        const { a, b } = await makePair();
        const atA = record(a);
        const atB = record(b);
        b.pause();
        for (let i = 0; i < 40; i++) a.send(noiseBytes(MiB / 2, i));
        await quiet();
        assert.ok(a.bufferedAmount > 0, "the sender holds what the paused end did not take");
        b.resume();
        await atB.until(40);
        await quiet();
        assert.ok(atA.drains.length >= 1, "drain fired");
        assert.equal(a.bufferedAmount, 0);
        a.close();
      });
    }

    test("bufferedAmount is a number ≥ 0 throughout", async () => {
      const { a, b } = await makePair();
      const atA = record(a);
      const atB = record(b);
      const check = (when: string) => {
        for (const link of [a, b]) {
          assert.equal(typeof link.bufferedAmount, "number", when);
          assert.ok(
            Number.isFinite(link.bufferedAmount) && link.bufferedAmount >= 0,
            `${when}: ${link.bufferedAmount}`,
          );
        }
      };
      check("fresh");
      for (let i = 0; i < 4; i++) a.send(noiseBytes(MiB, i));
      check("after sending 4 MiB");
      await atB.until(4);
      check("after delivery");
      a.close();
      await Promise.all([atA.closed, atB.closed]);
      check("after close");
    });
  });
}

linkContract(
  "memory",
  async () => {
    const [a, b] = memoryLinkPair("a", "b");
    return { a, b };
  },
  () => settle(),
  { backpressure: true },
);

linkContract(
  "data channel (fake channel pair)",
  async () => {
    const [channelA, channelB] = fakeChannelPair({ bytesPerTurn: 4 * MiB });
    const options = { maxFrame: MAX_FRAME, closeTimeout: 200 };
    return { a: new DataChannelLink(channelA, options), b: new DataChannelLink(channelB, options) };
  },
  () => settle(10),
  { backpressure: false },
);

const networkKey = new Uint8Array(32).fill(7);

/** The network-key handshake on a fresh pair of links, both roles at once. */
async function securedPair(pair: Pair): Promise<Pair> {
  const keys = networkKeys(networkKey, testCrypto.secretbox);
  const [a, b] = await Promise.all([
    secureLink(pair.a, { role: "initiator", keys, clock: systemClock, timeoutMs: 5000 }),
    secureLink(pair.b, { role: "responder", keys, clock: systemClock, timeoutMs: 5000 }),
  ]);
  return { a, b };
}

linkContract(
  "secure link over memory",
  async () => {
    const [a, b] = memoryLinkPair("a", "b");
    return securedPair({ a, b });
  },
  () => settle(),
  { backpressure: true },
);

const listeners: WebSocketListener[] = [];
const openLinks: Link[] = [];
after(async () => {
  for (const link of openLinks) link.close();
  await Promise.all(listeners.map((listener) => listener.stopAccepting()));
});

let listener: WebSocketListener | null = null;
let nextServerEnd: ((link: Link) => void) | null = null;

linkContract(
  "websocket",
  async () => {
    if (!listener) {
      listener = await listenWebSocket({
        host: "127.0.0.1",
        port: 0,
        maxFrame: MAX_FRAME,
        onLink: (link) => {
          openLinks.push(link);
          nextServerEnd?.(link);
        },
      });
      listeners.push(listener);
    }
    const serverEnd = deferred<Link>();
    nextServerEnd = serverEnd.resolve;
    const a = await nodeWebSocketDialer(listener.url, { maxFrame: MAX_FRAME });
    openLinks.push(a);
    const b = await serverEnd.promise;
    return { a, b };
  },
  // Real sockets: a short pause lets frames in flight cross the loopback. Used only where the test
  // cannot await an event (see each use).
  () => new Promise((resolve) => setTimeout(resolve, 50)),
  { backpressure: true },
);
