// Flow control through a relay (flow-control.ts), on in-memory links: a subscriber that stops reading
// makes the relay stop reading the publisher, whose publishes then wait; once it reads again everything
// arrives in order. One that stays stuck past the stall timeout is cut, and frees the publisher.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CloseCode } from "../../../core/internal.ts";
import type { Connection, Dialer, Link } from "../../../core/internal.ts";
import { Mesh, TEST_TIMEOUT, deferred, makeKeys, settle } from "../../fixtures/mesh.ts";

/** A dialer that hands the test the peer's end of each link it opens. */
function capturingDialer(inner: Dialer): { dialer: Dialer; links: Link[] } {
  const links: Link[] = [];
  return {
    links,
    dialer: async (address, options) => {
      const link = await inner(address, options);
      links.push(link);
      return link;
    },
  };
}

async function until(done: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms: ${what}`);
    await settle();
  }
}

const BODY = 4096;
const HIGH_WATER = 64 * 1024;
// Heartbeats far apart: a subscriber that reads nothing also answers no ping, and this is about flow
// control, not liveness.

async function scene(stallTimeoutMs: number) {
  const mesh = new Mesh(makeKeys("news"), { queueHighWater: HIGH_WATER, stallTimeoutMs, heartbeatMs: 60_000 });
  const captured = capturingDialer(mesh.net.dialer);
  const subscriber = await mesh.peer({ dialer: captured.dialer });
  const heard: number[] = [];
  await subscriber.subscribe(
    "news",
    (body) => void heard.push(new DataView(body.buffer, body.byteOffset).getUint32(0)),
  );
  // Random bodies: nothing to compress, so bytes on the wire are what the test counts.
  const publisher = await mesh.peer({ compressAbove: Number.POSITIVE_INFINITY });
  return { mesh, subscriber, subscriberLink: captured.links[0]!, heard, publisher };
}

/** Publishes `count` messages in a loop, awaiting each; `done` counts the ones that resolved. */
function publishLoop(publisher: Connection, count: number): { done: () => number; finished: Promise<void> } {
  let done = 0;
  const body = new Uint8Array(BODY);
  crypto.getRandomValues(body);
  const finished = (async () => {
    for (let seq = 0; seq < count; seq++) {
      new DataView(body.buffer).setUint32(0, seq);
      await publisher.publish("news", body);
      done++;
    }
  })();
  return { done: () => done, finished };
}

describe("flow control through a relay", TEST_TIMEOUT, () => {
  test("a subscriber that stops reading holds the publisher back; once it reads, all arrive in order", async () => {
    const { mesh, subscriberLink, heard, publisher } = await scene(60_000);
    try {
      const started = Date.now();
      subscriberLink.pause();
      const count = 2000; // 8 MiB: far more than the relay's and the publisher's buffers hold
      const loop = publishLoop(publisher, count);
      await until(() => mesh.relay.flow.pausedSenders > 0, "the relay pauses the publisher's link");
      const pausedAt = Date.now();
      // Held: the publisher's publishes stop resolving while nothing drains.
      let held = loop.done();
      for (let i = 0; i < 20; i++) {
        await settle();
        held = loop.done();
      }
      await settle(10);
      assert.equal(loop.done(), held, "no publish resolves while the subscriber reads nothing");
      assert.ok(held < count, `the publisher was held after ${held} of ${count}`);
      assert.equal(heard.length, 0);
      // The pause lasts while the subscriber reads nothing: held this long, the report must show it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const heldMs = Date.now() - pausedAt;
      subscriberLink.resume();
      await loop.finished;
      await until(() => heard.length === count, `every message heard (${heard.length})`);
      assert.ok(
        heard.every((seq, at) => seq === at),
        "in order",
      );
      await until(() => mesh.relay.flow.pausedSenders === 0, "the publisher's link is read again");
      const pausedMs = mesh.relay.flow.pausedMs();
      assert.ok(pausedMs >= heldMs, `paused ${pausedMs} ms in all, held at least ${heldMs} ms`);
      assert.ok(pausedMs <= Date.now() - started, `paused ${pausedMs} ms, longer than the test has run`);
      assert.equal(mesh.relay.flow.pausedMs(), pausedMs, "no pause goes on, so the total stands");
      assert.equal(mesh.relay.stats.slowConsumerDisconnects, 0);
      assert.equal(mesh.relay.stats.slowConsumerDrops, 0, "nothing dropped");
    } finally {
      await mesh.close();
    }
  });

  test("a subscriber stuck past the stall timeout is cut with 4005, and the publisher goes on", async () => {
    const { mesh, subscriber, subscriberLink, publisher } = await scene(300);
    try {
      const cut = deferred<number>();
      subscriber.on("drop", ({ code }) => cut.resolve(code));
      subscriberLink.pause();
      const loop = publishLoop(publisher, 1000);
      await until(() => mesh.relay.stats.slowConsumerDisconnects === 1, "the stuck subscriber is cut");
      await loop.finished;
      assert.equal(mesh.relay.flow.pausedSenders, 0);
      subscriberLink.resume();
      assert.equal(await cut.promise, CloseCode.SlowConsumer);
    } finally {
      await mesh.close();
    }
  });
});
