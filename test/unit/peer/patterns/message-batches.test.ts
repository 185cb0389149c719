// Broadcasts and publishes in batches (message-batches.ts): one sealed frame for what a sender sends to
// one cluster or topic in one turn, bounded in size, each message copied as it is taken, compressed one
// by one, and a message either taken (then sent) or refused (then never sent).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Connection } from "../../../../core/internal.ts";
import { FrameType } from "../../../../core/wire/frames.ts";
import { BATCH_LIMIT, readBatch } from "../../../../core/peer/patterns/message-batches.ts";
import { SealError } from "../../../../core/crypto/seal.ts";
import { fflateCompression } from "../../../../core/crypto/compress.ts";
import { FrameLog, Mesh, TEST_TIMEOUT, counter, makeKeys, noiseBytes, settle } from "../../../fixtures/mesh.ts";

describe("message batches", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let publisher: Connection;
  let subscriber: Connection;
  const log = new FrameLog();

  before(async () => {
    mesh = new Mesh(makeKeys("news", "team"));
    publisher = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    subscriber = await mesh.peer();
  });

  after(() => mesh.close());

  /** Subscribes and resolves with the first `count` bodies heard. */
  async function hear(topic: string, count: number): Promise<{ bodies: Promise<Uint8Array[]>; stop(): Promise<void> }> {
    const bodies: Uint8Array[] = [];
    const heard = counter(count);
    const sub = await subscriber.subscribe(topic, (body) => {
      bodies.push(body.slice());
      heard.bump();
    });
    return { bodies: heard.reached.then(() => bodies), stop: () => sub.unsubscribe() };
  }

  test("publishes made in one turn leave in one frame, each with its own bytes though the caller reuses its buffer", async () => {
    const listening = await hear("news", 50);
    const before = log.sent(FrameType.Publish).length;
    const body = new Uint8Array(100);
    const sent: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) {
      body.fill(i);
      sent.push(publisher.publish("news", body));
    }
    await Promise.all(sent);
    const bodies = await listening.bodies;
    await listening.stop();
    assert.deepEqual(
      bodies.map((b) => [b.length, b[0], b[99]]),
      Array.from({ length: 50 }, (_, i) => [100, i, i]),
    );
    assert.equal(log.sent(FrameType.Publish).length - before, 1, "one frame for the turn");
  });

  test("a batch stops at its limit and a larger message goes alone; order holds across frames", async () => {
    const count = 100;
    const listening = await hear("news", count + 1);
    const before = log.sent(FrameType.Publish).length;
    const sent: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) sent.push(publisher.publish("news", new Uint8Array(1024).fill(i)));
    // Random, so it does not compress into a small batch entry.
    sent.push(publisher.publish("news", noiseBytes(BATCH_LIMIT + 1)));
    await Promise.all(sent);
    const bodies = await listening.bodies;
    await listening.stop();
    assert.deepEqual(
      bodies.slice(0, count).map((b) => b[0]),
      Array.from({ length: count }, (_, i) => i),
    );
    assert.equal(bodies[count]!.length, BATCH_LIMIT + 1);
    // 100 KiB of 1 KiB messages fill one 64 KiB batch and start another; the large one goes alone.
    assert.equal(log.sent(FrameType.Publish).length - before, 3);
  });

  test("messages from compressAbove are compressed one by one; sensitive ones travel in a batch of their own", async () => {
    const listening = await hear("news", 3);
    const before = log.sent(FrameType.Publish);
    const text = new TextEncoder().encode(`{"record":1,"value":"${"abc".repeat(3000)}"}`);
    await Promise.all([
      publisher.publish("news", text),
      publisher.publish("news", Uint8Array.of(1, 2, 3)),
      publisher.publish("news", text, { sensitive: true }),
    ]);
    const bodies = await listening.bodies;
    await listening.stop();
    assert.deepEqual(
      bodies.map((b) => b.length).sort((a, b) => a - b),
      [3, text.length, text.length],
    );
    const frames = log.sent(FrameType.Publish).slice(before.length);
    assert.equal(frames.length, 2, "the sensitive message in a frame of its own");
    const sizes = frames
      .map((frame) => (frame.type === FrameType.Publish ? frame.sealed.length : 0))
      .sort((a, b) => a - b);
    assert.ok(sizes[0]! < text.length / 4, `the compressed batch is small (${sizes[0]} bytes)`);
    assert.ok(sizes[1]! > text.length, `the sensitive one is not compressed (${sizes[1]} bytes)`);
  });

  test("broadcasts batch the same way, per cluster", async () => {
    const heard: string[] = [];
    const all = counter(20);
    const registration = await subscriber.register("team", {
      broadcast: (body) => {
        heard.push(new TextDecoder().decode(body));
        all.bump();
      },
    });
    const before = log.sent(FrameType.Broadcast).length;
    await Promise.all(Array.from({ length: 20 }, (_, i) => publisher.broadcast("team", `b${i}`)));
    await all.reached;
    await registration.unregister();
    assert.deepEqual(
      heard,
      Array.from({ length: 20 }, (_, i) => `b${i}`),
    );
    assert.equal(log.sent(FrameType.Broadcast).length - before, 1);
  });

  test("readBatch takes a batch apart, and refuses a malformed one with SealError", () => {
    // [count 2] [len 2 << 1] "hi" [len 1 << 1] "!"
    const batch = Uint8Array.of(2, 4, 0x68, 0x69, 2, 0x21);
    assert.deepEqual(
      readBatch(batch, 100, fflateCompression).map((b) => new TextDecoder().decode(b)),
      ["hi", "!"],
    );
    for (const broken of [
      Uint8Array.of(3, 4, 0x68, 0x69, 2, 0x21), // claims a third message
      Uint8Array.of(2, 4, 0x68, 0x69, 2, 0x21, 0), // trailing byte
      Uint8Array.of(1, 8, 0x68), // a body cut short
      Uint8Array.of(1, 3, 0x68), // "compressed", with no inflated length
    ]) {
      assert.throws(() => readBatch(broken, 100, fflateCompression), SealError, `refused: ${[...broken]}`);
    }
    assert.throws(() => readBatch(Uint8Array.of(1, 8, 1, 2, 3, 4), 3, fflateCompression), SealError, "over the cap");
  });

  test("a publish that waited for room and timed out is never sent", async () => {
    const quiet = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    const listening = await hear("news", 1);
    // The relay goes away: no room, ever, within the timeout.
    mesh.replaceRelay({}, false);
    await settle();
    await assert.rejects(quiet.publish("news", "too late", { timeout: 50 }), /not sent within 50 ms/);
    mesh.listen();
    await quiet.restored();
    await subscriber.restored();
    await quiet.publish("news", "in time");
    const bodies = await listening.bodies;
    await listening.stop();
    assert.deepEqual(
      bodies.map((b) => new TextDecoder().decode(b)),
      ["in time"],
    );
  });
});
