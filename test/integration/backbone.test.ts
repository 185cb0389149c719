// Five real relay processes started from seeds, with peers on different relays: every pattern works
// across relays, including a 64 MiB tunnel over two relay hops.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { deriveServiceKeys, parseKey } from "../../core/crypto/keys.ts";
import { fromHex, toHex } from "../../core/util/bytes.ts";
import { compareDistance } from "../../core/relay/routing-table.ts";
import { seededBytes } from "../fixtures/data.ts";
import { rootOf, startBackbone, waitForStatus } from "../fixtures/network.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";
import { testCrypto } from "../fixtures/crypto.ts";

const MiB = 1024 * 1024;
const keys = { db: generateKey(), news: generateKey(), files: generateKey() };
const text = new TextDecoder();
const idOf = (kind: "cluster" | "topic", name: keyof typeof keys) =>
  toHex(deriveServiceKeys(testCrypto.signing, kind, name, parseKey(keys[name])).id);

describe("five relays from seeds", { timeout: 180_000 }, () => {
  let relays: RelayProcess[] = [];
  let members: PeerProcess[] = [];
  let caller: Connection;

  before(async () => {
    relays = await startBackbone(5, ["--startup-grace", "0"]);
    // Members of "db" and subscribers of "news" on relays 1 to 4; the caller on relay 0.
    members = await Promise.all([1, 2, 3, 4].map(() => startPeer()));
    for (const [i, member] of members.entries()) {
      await member.connect([relays[i + 1]!.url], keys);
      await member.register("db", { kind: "tag" });
      await member.subscribe("news");
    }
    caller = await connect({ relays: [relays[0]!.url], keys });
    // The trees are complete when the root counts all four members and all four subscribers.
    await waitForStatus(relays, (all) => {
      const count = (id: string) => {
        const root = all.find((s) => s.trees.some((tree) => tree.id === id && tree.root));
        const tree = root?.trees.find((t) => t.id === id);
        return tree ? tree.local + tree.children.reduce((sum, child) => sum + child.count, 0) : 0;
      };
      return count(idOf("cluster", "db")) === 4 && count(idOf("topic", "news")) === 4;
    });
  });

  after(async () => {
    await caller?.close();
    await Promise.all(members.map((member) => member.stop()));
    await Promise.all(relays.map((relay) => relay.stop()));
  });

  test("requests from relay 0 are served by members on four other relays, every reply matching", async () => {
    const servedBy = new Map<string, number>();
    const replies = await Promise.all(
      Array.from({ length: 400 }, (_, i) => caller.request("db", `q${i}`, { timeout: 10_000 })),
    );
    replies.forEach((reply, i) => {
      const [peerId, body] = text.decode(reply).split(":");
      assert.equal(body, `q${i}`);
      servedBy.set(peerId!, (servedBy.get(peerId!) ?? 0) + 1);
    });
    assert.deepEqual([...servedBy.keys()].sort(), members.map((m) => m.peerId).sort());
    for (const count of servedBy.values()) assert.ok(count >= 50, `a member served only ${count} of 400`);
  });

  test("a broadcast reaches every member and a publish every subscriber, across relays, once", async () => {
    await caller.broadcast("db", "to everyone");
    await caller.publish("news", "headline");
    for (const member of members) {
      await member.call("received", { kind: "broadcasts", name: "db", count: 1 });
      await member.call("received", { kind: "published", name: "news", count: 1 });
    }
    // A second message behind the first shows no duplicate of the first was on its way.
    await caller.publish("news", "second");
    for (const member of members) {
      await member.call("received", { kind: "published", name: "news", count: 2 });
      const stats = await member.stats();
      assert.deepEqual(stats.broadcasts.db, ["to everyone"]);
      assert.deepEqual(stats.published.news, ["headline", "second"]);
    }
  });

  test("a 64 MiB tunnel arrives byte-exact over two relay hops", async () => {
    // The caller and the member sit on two relays that are not the tree's root, so the tunnel runs
    // caller's relay -> root -> member's relay.
    const statuses = await waitForStatus(relays, () => true);
    const key = fromHex(idOf("cluster", "files")).subarray(0, 16);
    const byDistance = statuses
      .map((s, index) => ({ index, id: fromHex(s.relayId) }))
      .sort((a, b) => compareDistance(key, a.id, b.id));
    const [root, memberRelay, callerRelay] = byDistance.map((entry) => entry.index) as [number, number, number];
    const sender = await startPeer();
    const receiver = await startPeer();
    try {
      await receiver.connect([relays[memberRelay]!.url], keys);
      await receiver.register("files", { kind: "echo" }, { tunnel: { kind: "hash" } });
      await waitForStatus(relays, (all) => rootOf(all, idOf("cluster", "files")) === root);
      await sender.connect([relays[callerRelay]!.url], keys);
      const seed = 64;
      const result = await sender.call<{ sha256: string }>("tunnelSend", {
        cluster: "files",
        totalBytes: 64 * MiB,
        messageBytes: 256 * 1024,
        seed,
      });
      const expected = createHash("sha256");
      const random = seededBytes(seed);
      for (let done = 0; done < 64 * MiB; done += 256 * 1024) expected.update(random(256 * 1024));
      const digest = expected.digest("hex");
      assert.equal(result.sha256, digest);
      await receiver.call("tunnelsEnded", { count: 1 });
      const [record] = (await receiver.stats()).tunnels;
      assert.equal(record?.error, null);
      assert.equal(record?.bytes, 64 * MiB);
      assert.equal(record?.sha256, digest);
    } finally {
      await Promise.all([sender.stop(), receiver.stop()]);
    }
  });

  test("any peer can inspect any relay through the overlay", async () => {
    const mine = await caller.inspect();
    assert.equal(mine.peers.length >= 1, true);
    for (const other of mine.directory) {
      const report = await caller.inspect(other.relayId);
      assert.equal(report.relayId, other.relayId);
    }
  });
});
