// SIGTERM drains a relay: it accepts nothing new, lets its members finish what they were given, asks
// its peers to move, and exits. Under steady load, not one request fails because of it.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startBackbone, waitForStatus } from "../fixtures/network.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";

const keys = { work: generateKey() };
const DRAINING = 1;

describe("SIGTERM drain under load", { timeout: 180_000 }, () => {
  let relays: RelayProcess[] = [];
  const members: PeerProcess[] = [];
  let caller: Connection;

  before(async () => {
    relays = await startBackbone(3, ["--startup-grace", "0"]);
    // Members on the relay that will drain and on another; the caller on the draining relay too.
    for (const index of [DRAINING, DRAINING, 2, 2]) {
      const member = await startPeer();
      await member.connect([relays[index]!.url], keys);
      await member.register("work", { kind: "slow", ms: 50 });
      members.push(member);
    }
    caller = await connect({ relays: [relays[DRAINING]!.url], keys });
    await waitForStatus(relays, (all) =>
      all.some((s) => s.trees.some((t) => t.root && t.local + t.children.reduce((n, c) => n + c.count, 0) === 4)),
    );
    await waitForStatus([relays[DRAINING]!], () => caller.knownRelays.length >= 3);
  });

  after(async () => {
    await caller?.close();
    await Promise.all(members.map((member) => member.stop()));
    await Promise.all(relays.map((relay) => relay.stop()));
  });

  test("0 failed requests while the relay drains and exits", async () => {
    let running = true;
    let succeeded = 0;
    const failures: string[] = [];
    const milestones: Array<{ count: number; reached(): void }> = [];
    const reach = (count: number) => new Promise<void>((reached) => milestones.push({ count, reached }));
    const progressed = () => {
      for (const milestone of milestones.filter((m) => succeeded >= m.count)) {
        milestones.splice(milestones.indexOf(milestone), 1);
        milestone.reached();
      }
    };
    // 32 callers in a loop, each always with one request in flight.
    const workers = Array.from({ length: 32 }, async (_, worker) => {
      for (let i = 0; running; i++) {
        try {
          const reply = await caller.request("work", `w${worker}-${i}`, { timeout: 20_000 });
          assert.equal(new TextDecoder().decode(reply), `w${worker}-${i}`);
          succeeded++;
          progressed();
        } catch (error) {
          failures.push(`${(error as Error).name}: ${(error as Error).message}`);
        }
      }
    });
    // Under load first, then the drain, then load on the remaining relays.
    await reach(500);
    const before = succeeded;
    const reconnected = caller.next("reconnect");
    const exit = relays[DRAINING]!.stop("SIGTERM");
    await relays[DRAINING]!.waitForLine(/relay-draining/);
    assert.equal(await exit, 0, "the relay exited cleanly after draining");
    const { relay: moved } = await reconnected;
    await reach(before + 1000);
    running = false;
    await Promise.all(workers);
    console.log(`drain: ${succeeded} requests succeeded, ${failures.length} failed; the caller moved to ${moved}`);
    assert.deepEqual(failures, []);
    assert.notEqual(moved, relays[DRAINING]!.url);
    assert.ok(relays[DRAINING]!.lines.some((line) => line.includes("relay-drained")));
  });
});
