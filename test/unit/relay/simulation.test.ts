// A deterministic simulation of the backbone: 100 relays and 1,000 peers on in-memory links and
// virtual time. It checks the overlay's promises at that scale: bounded links, everyone reachable,
// O(log N) routing, balanced requests across relays, exactly-once publishes, and healing after a
// tenth of the relays crash at once. Figures (hop histogram, healing time) are printed.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { toBase64Url } from "../../../core/util/bytes.ts";
import type { Connection } from "../../../core/node.ts";
import { Simulation } from "../../fixtures/simulation.ts";

const RELAYS = 100;
const PEERS = 1000;
const MAX_LINKS = 16;
const SEED = 20261125;
// Fixed keys: a service id decides where its tree is rooted, and the run must repeat exactly.
const keys = { work: toBase64Url(new Uint8Array(32).fill(1)), news: toBase64Url(new Uint8Array(32).fill(2)) };

describe("a backbone of 100 relays and 1,000 peers (simulated)", { timeout: 600_000 }, () => {
  const sim = new Simulation(SEED);
  const peersByRelay = new Map<number, Connection[]>();
  const members: Array<{ relay: number; connection: Connection; served: number }> = [];
  const subscribers: Array<{ relay: number; heard: string[] }> = [];
  const callers: Connection[] = [];

  before(async () => {
    // Relays join one after another through a few earlier relays, as operators would add them.
    sim.addRelay([]);
    for (let i = 1; i < RELAYS; i++) {
      const seeds = [sim.relays[sim.randomIndex(i)]!.address];
      sim.addRelay(seeds);
      if (i % 10 === 0) await sim.clock.advance(500);
    }
    // Converged: greedy routing from every relay ends at the right relay, for every relay's own id and
    // for a few hundred random keys.
    const probeKeys = [
      ...Array.from({ length: 200 }, () => sim.randomKey()),
      ...sim.relays.map((r) => r.relay.relayId),
    ];
    const took = await sim.clock.until(() => sim.routesCorrectly(probeKeys), 120_000, 500);
    console.log(`overlay of ${RELAYS} relays converged ${took} ms (simulated) after the last relay started`);

    for (let i = 0; i < PEERS; i++) {
      const relay = i % RELAYS;
      const pending = sim.peer(relay, { keys });
      pending.then((connection) => {
        const list = peersByRelay.get(relay) ?? [];
        list.push(connection);
        peersByRelay.set(relay, list);
      });
    }
    await sim.clock.until(() => sim.peers.length === PEERS, 60_000);
  });

  after(async () => {
    await sim.close();
  });

  test("every relay keeps at most 16 relay links, and every relay reaches every other", () => {
    const linkCounts = sim.relays.map((relay) => relay.relay.backbone.linkCount);
    console.log(
      `relay links: min ${Math.min(...linkCounts)}, max ${Math.max(...linkCounts)}, mean ${(linkCounts.reduce((a, b) => a + b, 0) / RELAYS).toFixed(1)}`,
    );
    assert.ok(Math.max(...linkCounts) <= MAX_LINKS, `max links ${Math.max(...linkCounts)}`);
    for (const from of sim.relays) {
      for (const to of sim.relays) {
        const path = sim.greedyPath(from, to.relay.relayId);
        assert.ok(path && path[path.length - 1] === to, `relay ${from.index} cannot route to relay ${to.index}`);
      }
    }
  });

  test("10,000 routed probes: p99 hop count at most ceil(log2 N) + 1", async () => {
    const hops: number[] = [];
    const probes: Array<Promise<void>> = [];
    for (let i = 0; i < 10_000; i++) {
      const from = sim.relays[sim.randomIndex(RELAYS)]!;
      const key = sim.randomKey();
      probes.push(
        from.relay.probe(key).then((result) => {
          assert.equal(result.responder, sim.closestTo(key).relay.relayHex, "the probe ended at the closest relay");
          hops.push(result.hops);
        }),
      );
    }
    await sim.clock.advance(100);
    await Promise.all(probes);
    hops.sort((a, b) => a - b);
    const histogram = new Map<number, number>();
    for (const h of hops) histogram.set(h, (histogram.get(h) ?? 0) + 1);
    const p99 = hops[Math.floor(hops.length * 0.99)]!;
    const bound = Math.ceil(Math.log2(RELAYS)) + 1;
    console.log(
      `probe hops (N=${RELAYS}): ${[...histogram].map(([h, n]) => `${h}:${n}`).join(" ")}; p50 ${hops[5000]}, p99 ${p99}, max ${hops[hops.length - 1]}; bound ${bound}`,
    );
    assert.equal(hops.length, 10_000);
    assert.ok(p99 <= bound, `p99 ${p99} > ${bound}`);
  });

  test("a cluster with members on 10 relays: each member within ±50% of its fair share of 10,000 requests", async () => {
    const memberRelays = Array.from({ length: 10 }, (_, i) => i * 10 + 3);
    for (const relay of memberRelays) {
      for (const connection of peersByRelay.get(relay)!.slice(0, 2)) {
        const member = { relay, connection, served: 0 };
        members.push(member);
        await connection.register("work", {
          request: (body) => {
            member.served++;
            return body;
          },
        });
      }
    }
    await sim.clock.advance(1000);
    for (let relay = 0; relay < RELAYS; relay += 9) callers.push(peersByRelay.get(relay)![5]!);
    const requests: Array<Promise<Uint8Array>> = [];
    for (let i = 0; i < 10_000; i++)
      requests.push(callers[i % callers.length]!.request("work", `r${i}`, { timeout: 60_000 }));
    // Replies arrive as fast as the in-memory links deliver; advancing time lets load reports flow.
    let settled = 0;
    for (const request of requests) request.then(() => settled++);
    await sim.clock.until(() => settled === requests.length, 120_000, 100);
    const replies = await Promise.all(requests);
    for (const [i, reply] of replies.entries()) assert.equal(new TextDecoder().decode(reply), `r${i}`);
    const fair = 10_000 / members.length;
    const shares = members.map((m) => m.served / fair);
    console.log(`member shares of fair: ${shares.map((s) => s.toFixed(2)).join(" ")}`);
    assert.equal(
      members.reduce((sum, m) => sum + m.served, 0),
      10_000,
      "every request served exactly once",
    );
    for (const [i, share] of shares.entries()) {
      assert.ok(
        share >= 0.5 && share <= 1.5,
        `member ${i} on relay ${members[i]!.relay} got ${share.toFixed(2)} of its share`,
      );
    }
  });

  test("a publish reaches each of 200 subscribers exactly once", async () => {
    for (let i = 0; i < 200; i++) {
      const relay = (i * 37) % RELAYS;
      const connection = peersByRelay.get(relay)![6 + (i % 4)]!;
      const record = { relay, heard: [] as string[] };
      subscribers.push(record);
      await connection.subscribe("news", (body) => void record.heard.push(new TextDecoder().decode(body)));
    }
    await sim.clock.advance(1000);
    await peersByRelay.get(50)![1]!.publish("news", "first edition");
    await sim.clock.advance(1000);
    for (const [i, subscriber] of subscribers.entries()) {
      assert.deepEqual(subscriber.heard, ["first edition"], `subscriber ${i} on relay ${subscriber.relay}`);
    }
  });

  test("10% of relays crash at once: the overlay converges and deliveries resume", async () => {
    const victims = new Set<number>();
    while (victims.size < RELAYS / 10) {
      const candidate = sim.randomIndex(RELAYS);
      // Keep the publisher's and one caller's relays so the same peers can test delivery afterwards.
      if (candidate !== 50 && candidate !== 0) victims.add(candidate);
    }
    const crashedAt = sim.clock.now();
    for (const index of victims) sim.crash(index);
    const probeKeys = [
      ...Array.from({ length: 200 }, () => sim.randomKey()),
      ...sim.alive().map((r) => r.relay.relayId),
    ];
    const routed = await sim.clock.until(() => sim.routesCorrectly(probeKeys), 120_000, 250);
    // Peers of crashed relays fail over to relays they learned about; subscriptions come back with them.
    const edition = "second edition";
    const publisher = peersByRelay.get(50)![1]!;
    let delivered = 0;
    const reached = () => subscribers.filter((s) => s.heard.includes(edition)).length;
    while (reached() < subscribers.length) {
      if (sim.clock.now() - crashedAt > 120_000) break;
      await publisher.publish("news", edition);
      await sim.clock.advance(500);
      delivered = reached();
    }
    const healed = sim.clock.now() - crashedAt;
    console.log(
      `crashed ${victims.size} relays: routing correct after ${routed} ms, every subscriber reached again after ${healed} ms (simulated)`,
    );
    assert.equal(delivered, subscribers.length, `${delivered} of ${subscribers.length} subscribers reached`);
    // And requests are served again, by the surviving members and the ones that moved.
    const caller = peersByRelay.get(0)![5]!;
    for (let i = 0; i < 200; i++) {
      const reply = caller.request("work", `after-${i}`, { timeout: 30_000 });
      assert.equal(new TextDecoder().decode(await reply), `after-${i}`);
    }
  });
});
