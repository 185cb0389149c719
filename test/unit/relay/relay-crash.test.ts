// Requests in flight when the relay at the root of their cluster's tree crashes, on simulated relays.
// Relays hear of a crash at different moments: the caller's relay may place its requests again through
// a relay that has not heard yet and still sends them to the dead one. That is the same failure, seen
// late, and it must not use up the request's retry: every request still gets its reply.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fromBase64Url, toBase64Url } from "../../../core/util/bytes.ts";
import { deriveServiceKeys } from "../../../core/crypto/keys.ts";
import { keyOfService } from "../../../core/relay/routing-table.ts";
import { Simulation } from "../../fixtures/simulation.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

const RELAYS = 4;
const REQUESTS = 20;
const key = toBase64Url(new Uint8Array(32).fill(7));

describe("a crash of the relay at the root of a cluster's tree", () => {
  for (const seed of [1, 2, 3]) {
    test(`requests in flight all get their reply when other relays hear of it late (seed ${seed})`, async () => {
      const sim = new Simulation(seed);
      sim.addRelay([]);
      for (let i = 1; i < RELAYS; i++) sim.addRelay([sim.relays[0]!.address]);
      await sim.clock.until(() => sim.routesCorrectly(sim.relays.map((r) => r.relay.relayId)), 60_000, 100);

      // A cluster whose tree is rooted away from the caller's relay 0: every request climbs to the root.
      let name = "";
      let victim = 0;
      for (let n = 0; victim === 0; n++) {
        name = `work-${n}`;
        victim = sim.closestTo(
          keyOfService(deriveServiceKeys(testCrypto.signing, "cluster", name, fromBase64Url(key)).id),
        ).index;
      }
      let release!: () => void;
      const handlersMayReply = new Promise<void>((resolve) => (release = resolve));
      let started = 0;
      for (let relay = 1; relay < RELAYS; relay++) {
        const member = await sim.peer(relay, { keys: { [name]: key } });
        await member.register(name, {
          request: async (body) => {
            started++;
            await handlersMayReply;
            return body;
          },
        });
      }
      const caller = await sim.peer(0, { keys: { [name]: key } });
      await sim.clock.advance(1000);

      const outcomes = Array.from({ length: REQUESTS }, (_, i) =>
        caller.request(name, `job-${i}`, { timeout: 30_000 }).then(
          (reply) => new TextDecoder().decode(reply),
          (error: Error) => `${error.name}: ${error.message}`,
        ),
      );
      await sim.clock.until(() => started === REQUESTS, 10_000, 10);

      // Every relay but the caller's hears of the crash late.
      const heard = sim.relays
        .filter((r) => r.index !== 0 && r.index !== victim)
        .map((r) => sim.holdCloseNotices(r.index));
      sim.crash(victim);
      await sim.clock.advance(10);
      for (const hear of heard) hear();
      await sim.clock.advance(10);
      release();
      let settled = 0;
      for (const outcome of outcomes) void outcome.then(() => settled++);
      await sim.clock.until(() => settled === REQUESTS, 30_000, 50);

      assert.deepEqual(
        await Promise.all(outcomes),
        outcomes.map((_, i) => `job-${i}`),
      );
      assert.equal(caller.pendingRequests, 0);
      await sim.close();
    });
  }
});
