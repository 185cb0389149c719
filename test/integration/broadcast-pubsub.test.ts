// Broadcast and publish/subscribe through a real relay process, peers in their own processes.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";

const keys = { workers: generateKey(), news: generateKey() };

describe("broadcast and pub/sub through a relay process", () => {
  let relay: RelayProcess;
  let peers: PeerProcess[] = [];
  let local: Connection;

  before(async () => {
    relay = await startRelay();
    peers = await Promise.all([startPeer(), startPeer(), startPeer(), startPeer()]);
    for (const peer of peers) await peer.connect([relay.url], keys);
    local = await connect({ relays: [relay.url], keys });
  });

  after(async () => {
    await local?.close();
    await Promise.all(peers.map((peer) => peer.stop()));
    await relay?.stop();
  });

  test("a broadcast reaches every member exactly once, the sender included", async () => {
    const members = peers.slice(0, 3);
    for (const member of members) await member.register("workers", { kind: "echo" });
    const heardHere: string[] = [];
    let heard!: () => void;
    const heardOwn = new Promise<void>((resolve) => (heard = resolve));
    await local.register("workers", {
      broadcast: (body) => {
        heardHere.push(new TextDecoder().decode(body));
        heard();
      },
    });
    const sent = ["to all hands", "second", "third"];
    for (const message of sent) await local.broadcast("workers", message);
    await heardOwn;
    // A duplicate would arrive before a later message on the same FIFO path, so the record at the
    // moment the last one lands shows any.
    await Promise.all(
      members.map((member) => member.call("received", { kind: "broadcasts", name: "workers", count: 3 })),
    );
    for (const member of members) {
      const { broadcasts } = await member.stats();
      assert.deepEqual(broadcasts.workers, sent);
    }
    assert.equal(heardHere[0], "to all hands");
  });

  test("10,000 publishes reach every subscriber once each, in per-publisher order", async () => {
    const [publisherA, publisherB] = [peers[3]!, local];
    const subscribers = peers.slice(0, 3);
    for (const subscriber of subscribers) await subscriber.subscribe("news");
    const count = 10_000;
    await Promise.all([
      publisherA.call("publish", { topic: "news", prefix: "a", count: count / 2 }),
      (async () => {
        for (let i = 0; i < count / 2; i++) await publisherB.publish("news", `b${i}`);
      })(),
    ]);
    await Promise.all(subscribers.map((s) => s.call("received", { kind: "published", name: "news", count })));
    for (const subscriber of subscribers) {
      const received = (await subscriber.stats()).published.news!;
      assert.equal(received.length, count, "no loss, no duplicates");
      for (const prefix of ["a", "b"]) {
        const fromOne = received.filter((m) => m.startsWith(prefix)).map((m) => Number(m.slice(1)));
        assert.deepEqual(
          fromOne,
          Array.from({ length: count / 2 }, (_, i) => i),
          `publisher ${prefix} in order`,
        );
      }
    }
  });
});
