// The router's request paths across relays, on in-memory links and virtual time: the races a drain or a
// reconnect sets off between a caller's re-send and a reply that went another way, driven in order.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { deriveServiceKeys, parseKey } from "../../../core/crypto/keys.ts";
import type { Dialer, Link } from "../../../core/internal.node.ts";
import { keyOfService } from "../../../core/relay/routing-table.ts";
import { testCrypto } from "../../fixtures/crypto.ts";
import { deferred, makeKeys } from "../../fixtures/mesh.ts";
import { Simulation } from "../../fixtures/simulation.ts";

const sim = new Simulation(20261204);
after(() => sim.close());

/**
 * A dialer that reaches one relay only, whose current link can be cut (1006, nothing said), and that
 * refuses to dial while shut.
 */
function cuttableDialer(inner: Dialer, only: string): { dialer: Dialer; open: boolean; cut(): void } {
  let current: Link | null = null;
  const gate = {
    open: true,
    dialer: (async (address, options) => {
      if (!gate.open || address !== only) throw new Error(`connection refused: ${address} (test gate closed)`);
      current = await inner(address, options);
      return current;
    }) as Dialer,
    cut: () => current?.close(1006, "link cut by the test"),
  };
  return gate;
}

test("a request re-sent after its reply was lost is placed again by the root that sent it down the way it came", async () => {
  // Two relays: the cluster's tree is rooted at one, its member and the caller are on the other. A
  // request climbs to the root and comes back down the same link: the root is not on the way back.
  sim.addRelay([]);
  sim.addRelay([sim.relays[0]!.address]);
  const keys = makeKeys("echo");
  const clusterKey = keyOfService(deriveServiceKeys(testCrypto.signing, "cluster", "echo", parseKey(keys.echo!)).id);
  await sim.clock.until(() => sim.routesCorrectly([clusterKey]), 30_000);
  const root = sim.closestTo(clusterKey).index;
  const local = 1 - root;

  const pendingMember = sim.peer(local, { keys });
  await sim.clock.until(() => sim.peers.length === 1, 10_000);
  const member = await pendingMember;
  let release = deferred();
  let handled = 0;
  const registered = member.register("echo", {
    request: async (body) => {
      handled++;
      await release.promise;
      return `heard: ${new TextDecoder().decode(body)}`;
    },
  });
  await sim.clock.advance(500);
  await registered;
  const gate = cuttableDialer(sim.net.dialer, sim.relays[local]!.address);
  const pendingCaller = sim.peer(local, { keys, dialer: gate.dialer });
  await sim.clock.until(() => sim.peers.length === 2, 10_000);
  const caller = await pendingCaller;
  // Both relays know the member: the root's tree has the member's relay as a child.
  await sim.clock.advance(1000);

  const answer = caller.request("echo", "one", { timeout: 20_000 });
  let outcome: string | null = null;
  answer.then(
    (reply) => (outcome = new TextDecoder().decode(reply)),
    (error: Error) => (outcome = `failed: ${error.message}`),
  );
  await sim.clock.until(() => handled === 1, 5000);

  // The caller's link dies while the member works, and it cannot dial back yet: the reply reaches the
  // caller's relay with nobody to give it to, and that relay forgets the request.
  gate.open = false;
  gate.cut();
  await sim.clock.advance(200);
  release.resolve();
  release = deferred();
  await sim.clock.advance(200);
  assert.equal(outcome, null, "the reply had nobody to reach");

  // Back, the caller re-sends the request: it climbs to the root again, which must place it again
  // (the member answers the duplicate from its reply cache) rather than take it for a copy already on
  // its way.
  gate.open = true;
  await sim.clock.until(() => outcome !== null, 15_000);
  assert.equal(outcome, "heard: one");
  assert.equal(handled, 1, "the member ran the request once");
});
