// Chaos with real processes: 1,000 requests in flight to a cluster whose members sit on three relays,
// and one of those relays is killed with SIGKILL. It is also the root of the cluster's tree, the hardest
// case: every request climbed through it, so every relay on the way must place its requests again.
// Every request settles within its deadline and succeeds, nothing leaks, and once the relay is
// back a publish reaches every subscriber again.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fromBase64Url, fromHex, toHex } from "../../core/util/bytes.ts";
import { deriveServiceKeys } from "../../core/crypto/keys.ts";
import { connect, generateKey, IrisError } from "../../core/node.ts";
import type { Connection, RelaySnapshot } from "../../core/node.ts";
import { compareDistance, keyOfService } from "../../core/relay/routing-table.ts";
import { rootOf, startBackbone, status, waitForStatus } from "../fixtures/network.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";
import { testCrypto } from "../fixtures/crypto.ts";

const keys = { work: generateKey(), news: generateKey() };
const REQUESTS = 1000;
const DEADLINE_MS = 15_000;
const MEMBER_RELAYS = [1, 2, 3];
const VICTIM = 2;

describe("SIGKILL of a relay with requests in flight", { timeout: 180_000 }, () => {
  let relays: RelayProcess[] = [];
  const members: PeerProcess[] = [];
  const subscribers: PeerProcess[] = [];
  let caller: Connection;

  before(async () => {
    relays = await startBackbone(5, ["--startup-grace", "0"]);
    const relayIds = (await Promise.all(relays.map(status))).map((s) => fromHex(s.relayId));
    keys.work = clusterKeyRootedAt("work", VICTIM, relayIds);
    for (const index of MEMBER_RELAYS) {
      for (let i = 0; i < 2; i++) {
        const member = await startPeer();
        // Each learns the whole backbone from its relay and can fail over.
        await member.connect([relays[index]!.url], keys);
        await member.register("work", { kind: "slow", ms: 150 });
        members.push(member);
      }
    }
    for (const index of [1, 2, 3, 4]) {
      const subscriber = await startPeer();
      await subscriber.connect([relays[index]!.url], keys);
      await subscriber.subscribe("news");
      subscribers.push(subscriber);
    }
    caller = await connect({ relays: [relays[0]!.url], keys });
    // The victim is the root, and its tree counts all six members.
    await waitForStatus(
      relays,
      (all) => treeCount(all, idOf("cluster", "work")) === 6 && rootOf(all, idOf("cluster", "work")) === VICTIM,
    );
  });

  after(async () => {
    await caller?.close();
    await Promise.all([...members, ...subscribers].map((peer) => peer.stop()));
    await Promise.all(relays.map((relay) => relay.stop("SIGKILL")));
  });

  test("every request settles in time and succeeds, nothing leaks, and pub/sub heals", async () => {
    const started = Date.now();
    const outcomes = Array.from({ length: REQUESTS }, (_, i) =>
      caller.request("work", `job-${i}`, { timeout: DEADLINE_MS }).then(
        (reply) => ({ ok: new TextDecoder().decode(reply) === `job-${i}`, at: Date.now(), error: null as unknown }),
        (error: unknown) => ({ ok: false, at: Date.now(), error }),
      ),
    );
    // Kill the relay once both of its members are busy with requests.
    const victimMembers = members.slice(MEMBER_RELAYS.indexOf(VICTIM) * 2, MEMBER_RELAYS.indexOf(VICTIM) * 2 + 2);
    await Promise.all(victimMembers.map((member) => member.call("servedAtLeast", { cluster: "work", count: 5 })));
    const failedOver = victimMembers.map((member) => member.nextEvent("reconnect"));
    await relays[VICTIM]!.stop("SIGKILL");

    const results = await Promise.all(outcomes);
    const failed = results.filter((r) => !r.ok);
    for (const result of results) {
      assert.ok(result.at - started <= DEADLINE_MS + 2000, "settled within its deadline");
      if (!result.ok && result.error)
        assert.ok(result.error instanceof IrisError, `typed error, not ${String(result.error)}`);
    }
    const successRate = (REQUESTS - failed.length) / REQUESTS;
    console.log(
      `chaos: ${REQUESTS - failed.length}/${REQUESTS} succeeded (${(successRate * 100).toFixed(1)}%), ` +
        `slowest settled after ${Math.max(...results.map((r) => r.at - started))} ms; failures: ` +
        JSON.stringify([
          ...new Set(
            failed.map((f) => (f.error instanceof Error ? `${f.error.name}: ${f.error.message}` : "wrong reply")),
          ),
        ]),
    );
    // One relay died: each request gets the retry that one failure earns it, so none may fail.
    assert.equal(failed.length, 0, `only ${(successRate * 100).toFixed(1)}% succeeded`);
    assert.equal(caller.pendingRequests, 0, "no pending request is left at the caller");
    // The victim's members moved to other relays by themselves, keeping their peer ids.
    await Promise.all(failedOver);
    const moved = new Set(victimMembers.map((member) => member.peerId));
    await waitForStatus(
      relays.filter((_, i) => i !== VICTIM),
      (all) => {
        const attached = new Set(all.flatMap((s) => s.peers.filter((p) => p.clusters.length > 0).map((p) => p.peerId)));
        return [...moved].every((peerId) => attached.has(peerId));
      },
    );
    const alive = relays.filter((_, i) => i !== VICTIM);
    await waitForStatus(alive, (all) => all.every((s) => s.pendingRequests === 0), DEADLINE_MS + 5000);

    // The relay comes back on its port; its peers are elsewhere now, and the overlay takes it back.
    relays[VICTIM] = await startRelay([
      "--port",
      String(relays[VICTIM]!.port),
      "--seed",
      relays[0]!.url,
      "--startup-grace",
      "0",
    ]);
    await waitForStatus(relays, (all) => all.every((s) => s.links.length > 0 && s.directory.length >= 4));
    for (const subscriber of subscribers) await subscriber.call("restored");
    // A publish reaches the subscribers its topic's tree reaches when it is sent: wait for the tree to
    // be whole again around the relay that came back.
    await waitForStatus(relays, (all) => treeCount(all, idOf("topic", "news")) === subscribers.length);
    await caller.publish("news", "after the storm");
    for (const subscriber of subscribers) {
      await subscriber.call("received", { kind: "published", name: "news", count: 1 });
      assert.deepEqual((await subscriber.stats()).published.news, ["after the storm"]);
    }
  });
});

function idOf(kind: "cluster" | "topic", name: string): string {
  return toHex(deriveServiceKeys(testCrypto.signing, kind, name, fromBase64Url(keys[name as keyof typeof keys])).id);
}

/** How many members or subscribers the root of tree `id` counts, or -1 unless one relay alone is its root. */
function treeCount(statuses: RelaySnapshot[], id: string): number {
  const roots = statuses.flatMap((s) => s.trees.filter((t) => t.id === id && t.root));
  if (roots.length !== 1) return -1;
  return roots[0]!.local + roots[0]!.children.reduce((n, c) => n + c.count, 0);
}

/** A key under which the tree of cluster `name` is rooted at relay `index`: the relay closest to its id. */
function clusterKeyRootedAt(name: string, index: number, relayIds: Uint8Array[]): string {
  for (;;) {
    const key = generateKey();
    const target = keyOfService(deriveServiceKeys(testCrypto.signing, "cluster", name, fromBase64Url(key)).id);
    const closest = relayIds.reduce((best, id, i) => (compareDistance(target, id, relayIds[best]!) < 0 ? i : best), 0);
    if (closest === index) return key;
  }
}
