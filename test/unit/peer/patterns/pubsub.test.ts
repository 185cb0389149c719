// Publish/subscribe over one relay and in-memory links.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeyError, TooLargeError } from "../../../../core/internal.ts";
import type { Connection, ConnectionEvents } from "../../../../core/internal.ts";
import { FrameType } from "../../../../core/wire/frames.ts";
import { FrameLog, Mesh, counter, decode, deferred, makeKeys, TEST_TIMEOUT } from "../../../fixtures/mesh.ts";

interface Delivery {
  origin: string;
  body: string;
}

/** Subscribes and collects deliveries; `waitFor(body)` resolves once that body has arrived. */
async function collect(
  conn: Connection,
  topic: string,
): Promise<{ got: Delivery[]; unsubscribe(): Promise<void>; waitFor(body: string): Promise<void> }> {
  const got: Delivery[] = [];
  const waiting = new Map<string, () => void>();
  const sub = await conn.subscribe(topic, (body, info) => {
    const text = decode(body);
    got.push({ origin: info.origin, body: text });
    waiting.get(text)?.();
  });
  return {
    got,
    unsubscribe: () => sub.unsubscribe(),
    waitFor: (body) =>
      got.some((d) => d.body === body) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(body, resolve)),
  };
}

describe("publish/subscribe", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let peers: Connection[];

  before(async () => {
    mesh = new Mesh(makeKeys("news", "sports", "fence", "order", "solo", "nobody", "faulty", "twice"), {
      maxMessage: 16 * 1024,
    });
    peers = await mesh.peers(6);
  });

  after(async () => {
    await mesh.close();
  });

  test("a publish reaches every subscriber once, the publisher included", async () => {
    const subs = await Promise.all(peers.map((peer) => collect(peer, "news")));
    const publisher = peers[2]!;
    await publisher.publish("news", "headline");
    await publisher.publish("news", "end");
    await Promise.all(subs.map((s) => s.waitFor("end")));
    subs.forEach((s, index) => {
      assert.deepEqual(
        s.got,
        [
          { origin: publisher.peerId, body: "headline" },
          { origin: publisher.peerId, body: "end" },
        ],
        `subscriber ${index}`,
      );
    });
    await Promise.all(subs.map((s) => s.unsubscribe()));
  });

  test("topics are separate: a subscriber of one topic gets nothing of another", async () => {
    const sports = await collect(peers[0]!, "sports");
    const fence = await collect(peers[0]!, "fence");
    await peers[1]!.publish("news", "not for sports");
    await peers[1]!.publish("fence", "done");
    // Per-publisher order through one relay: the fence arrives after anything published before it.
    await fence.waitFor("done");
    assert.deepEqual(sports.got, []);
    await sports.unsubscribe();
    await fence.unsubscribe();
  });

  test("per-publisher order over 2 × 300 interleaved publishes", async () => {
    const publishers = [peers[0]!, peers[1]!];
    const total = 600;
    const subscribers = peers.slice(2);
    const arrived = subscribers.map(() => counter(total));
    const logs = await Promise.all(
      subscribers.map(async (peer, index) => {
        const got: Delivery[] = [];
        const sub = await peer.subscribe("order", (body, info) => {
          got.push({ origin: info.origin, body: decode(body) });
          arrived[index]!.bump();
        });
        return { got, sub };
      }),
    );
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i++) sends.push(publishers[i % 2]!.publish("order", `${i}`));
    await Promise.all(sends);
    await Promise.all(arrived.map((a) => a.reached));
    for (const { got } of logs) {
      assert.equal(got.length, total);
      publishers.forEach((publisher, p) => {
        const sequence = got.filter((d) => d.origin === publisher.peerId).map((d) => Number(d.body));
        assert.deepEqual(
          sequence,
          Array.from({ length: total / 2 }, (_, k) => 2 * k + p),
        );
      });
    }
    await Promise.all(logs.map(({ sub }) => sub.unsubscribe()));
  });

  test("self-delivery: a lone subscriber receives its own publish", async () => {
    const me = await collect(peers[3]!, "solo");
    await peers[3]!.publish("solo", "note to self");
    await me.waitFor("note to self");
    assert.deepEqual(me.got, [{ origin: peers[3]!.peerId, body: "note to self" }]);
    await me.unsubscribe();
  });

  test("two local subscriptions to one topic both receive, over a single join at the relay", async () => {
    const peer = peers[4]!;
    const first = await collect(peer, "twice");
    const second = await collect(peer, "twice");
    const entry = mesh.relay.snapshot().peers.find((p) => p.peerId === peer.peerId)!;
    assert.equal(entry.topics.length, 1, "one join for two local subscriptions");
    await peers[0]!.publish("twice", "both?");
    await Promise.all([first.waitFor("both?"), second.waitFor("both?")]);
    assert.equal(first.got.length, 1);
    assert.equal(second.got.length, 1);

    // Dropping one keeps the other (and the relay join).
    await first.unsubscribe();
    await peers[0]!.publish("twice", "one left");
    await second.waitFor("one left");
    assert.deepEqual(
      first.got.map((d) => d.body),
      ["both?"],
    );
    await second.unsubscribe();
  });

  test("unsubscribe stops delivery, and the relay forgets the subscriber", async () => {
    const leaver = peers[5]!;
    const gone = await collect(leaver, "nobody");
    const fence = await collect(leaver, "fence");
    const stays = await collect(peers[2]!, "nobody");
    await peers[0]!.publish("nobody", "before");
    await gone.waitFor("before");
    await gone.unsubscribe();
    await peers[0]!.publish("nobody", "after");
    await peers[0]!.publish("fence", "after-fence");
    await fence.waitFor("after-fence");
    await stays.waitFor("after");
    assert.deepEqual(
      gone.got.map((d) => d.body),
      ["before"],
    );
    const leaverEntry = mesh.relay.snapshot().peers.find((p) => p.peerId === leaver.peerId)!;
    assert.equal(leaverEntry.topics.length, 1, "only the fence topic is still joined");
    await fence.unsubscribe();
    await stays.unsubscribe();
    await gone.unsubscribe(); // twice is harmless
  });

  test("a handler that throws does not stop the others, and is reported through the error event", async () => {
    const subscriber = peers[1]!;
    const other = await collect(peers[2]!, "faulty");
    const errors: Array<ConnectionEvents["error"]> = [];
    const reported = deferred();
    const off = subscriber.on("error", (event) => {
      errors.push(event);
      if (errors.length === 4) reported.resolve();
    });
    const good: string[] = [];
    const subs = [
      await subscriber.subscribe("faulty", () => {
        throw new Error("handler bug 1");
      }),
      await subscriber.subscribe("faulty", async () => {
        throw new Error("handler bug 2");
      }),
      await subscriber.subscribe("faulty", (body) => {
        good.push(decode(body));
      }),
    ];
    await peers[0]!.publish("faulty", "m1");
    await peers[0]!.publish("faulty", "m2");
    await other.waitFor("m2");
    await reported.promise;
    off();
    assert.deepEqual(good, ["m1", "m2"], "the good handler saw both messages");
    assert.deepEqual(
      other.got.map((d) => d.body),
      ["m1", "m2"],
    );
    // Both faulty handlers, the throwing one and the rejecting one, for each of the two messages.
    assert.deepEqual(errors.map((e) => e.error.message).sort(), [
      "handler bug 1",
      "handler bug 1",
      "handler bug 2",
      "handler bug 2",
    ]);
    assert.ok(
      errors.every((e) => e.context.includes("faulty")),
      "the context names the topic",
    );
    for (const sub of subs) await sub.unsubscribe();
    await other.unsubscribe();
  });

  test("publishing with no subscribers resolves; KeyError and TooLargeError send nothing", async () => {
    const log = new FrameLog();
    const publisher = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    assert.equal(await publisher.publish("sports", "nobody listens"), undefined);
    assert.equal(log.sent(FrameType.Publish).length, 1);
    const keyError = await publisher.publish("no-key", "x").catch((e: unknown) => e);
    assert.ok(keyError instanceof KeyError);
    const tooLarge = await publisher.publish("sports", new Uint8Array(16 * 1024 + 1)).catch((e: unknown) => e);
    assert.ok(tooLarge instanceof TooLargeError);
    assert.equal(log.sent(FrameType.Publish).length, 1, "nothing more was sent");
    const subscribeError = await publisher.subscribe("no-key", () => {}).catch((e: unknown) => e);
    assert.ok(subscribeError instanceof KeyError);
  });
});
