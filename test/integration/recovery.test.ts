// A relay restart heals by itself: peers notice the drop, dial again with backoff, prove their joins
// to the new relay process, and work resumes without the application doing anything.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";

const keys = { db: generateKey(), news: generateKey() };
const text = new TextDecoder();

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  describe(`relay restarted after ${signal}`, () => {
    let relay: RelayProcess;
    let members: PeerProcess[] = [];
    let caller: Connection;

    before(async () => {
      relay = await startRelay();
      members = await Promise.all([startPeer(), startPeer()]);
      for (const member of members) {
        await member.connect([relay.url], keys);
        await member.register("db", { kind: "tag" });
        await member.subscribe("news");
      }
      caller = await connect({ relays: [relay.url], keys, reconnect: { initialDelay: 50, maxDelay: 500 } });
    });

    after(async () => {
      await caller?.close();
      await Promise.all(members.map((member) => member.stop()));
      await relay?.stop();
    });

    test("peers reconnect, re-register and resubscribe; requests and publishes work again", async () => {
      assert.ok(text.decode(await caller.request("db", "before")).endsWith(":before"));

      const drops = [caller.next("drop"), ...members.map((member) => member.nextEvent("drop"))];
      const reconnects = [caller.next("reconnect"), ...members.map((member) => member.nextEvent("reconnect"))];
      await relay.stop(signal);
      await Promise.all(drops);

      // A request made while no relay is up waits for the link instead of failing.
      const duringOutage = caller.request("db", "during", { timeout: 20_000 });
      relay = await startRelay(["--port", String(relay.port)]);
      await Promise.all(reconnects);

      // The members rejoined the new relay by themselves: it lists them.
      await relay.waitForLine(/ join .*kind=member/);
      assert.ok(text.decode(await duringOutage).endsWith(":during"));
      const servedBy = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const reply = text.decode(await caller.request("db", `after-${i}`));
        assert.ok(reply.endsWith(`:after-${i}`));
        servedBy.add(reply.split(":")[0]!);
      }
      assert.equal(servedBy.size, 2, "both members serve again");

      for (const member of members) await member.call("restored");
      await caller.publish("news", "after the restart");
      for (const member of members) {
        await member.call("received", { kind: "published", name: "news", count: 1 });
        assert.deepEqual((await member.stats()).published.news, ["after the restart"]);
      }
    });
  });
}
