// Request/reply through a real relay process, with members in their own processes.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey, NoMembersError, OverloadedError, RemoteError } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";

const keys = { db: generateKey(), empty: generateKey(), faulty: generateKey(), busy: generateKey() };
const text = new TextDecoder();

describe("request/reply through a relay process", () => {
  let relay: RelayProcess;
  let members: PeerProcess[] = [];
  let caller: Connection;

  before(async () => {
    // No startup grace: this suite checks that an empty cluster fails at once, which a fresh relay
    // would otherwise delay while members of a restarted network dial back.
    relay = await startRelay(["--startup-grace", "0"]);
    members = await Promise.all([startPeer(), startPeer(), startPeer()]);
    for (const member of members) {
      await member.connect([relay.url], keys);
      await member.register("db", { kind: "tag" });
    }
    caller = await connect({ relays: [relay.url], keys });
  });

  after(async () => {
    await caller?.close();
    await Promise.all(members.map((member) => member.stop()));
    await relay?.stop();
  });

  test("3,000 requests spread over 3 members, each reply matching its request", async () => {
    const replies = await Promise.all(
      Array.from({ length: 3000 }, (_, i) => caller.request("db", `req-${i}`, { timeout: 20_000 })),
    );
    const servedBy = new Map<string, number>();
    replies.forEach((reply, i) => {
      const [peerId, body] = text.decode(reply).split(":");
      assert.equal(body, `req-${i}`);
      servedBy.set(peerId!, (servedBy.get(peerId!) ?? 0) + 1);
    });
    assert.deepEqual([...servedBy.keys()].sort(), members.map((m) => m.peerId).sort());
    for (const [peerId, count] of servedBy) {
      const share = count / 3000;
      assert.ok(share >= 0.2 && share <= 0.47, `member ${peerId} served ${(share * 100).toFixed(1)}%`);
    }
    const stats = await Promise.all(members.map((member) => member.stats()));
    assert.equal(
      stats.reduce((sum, s) => sum + (s.served.db ?? 0), 0),
      3000,
      "each request served exactly once",
    );
  });

  test("a handler that throws gives the caller a RemoteError with its message", async () => {
    const faulty = await startPeer();
    try {
      await faulty.connect([relay.url], keys);
      await faulty.register("faulty", { kind: "throw", message: "disk on fire" });
      const error = await caller.request("faulty", "anything").then(
        () => assert.fail("expected a RemoteError"),
        (error: unknown) => error,
      );
      assert.ok(error instanceof RemoteError, `got ${String(error)}`);
      assert.equal(error.code, "REMOTE");
      assert.equal(error.message, "disk on fire");
    } finally {
      await faulty.stop();
    }
  });

  test("a member past its limits answers OverloadedError at once", async () => {
    const busy = await startPeer();
    try {
      await busy.connect([relay.url], keys);
      // One handler at a time, nothing queued; the handler holds until released.
      await busy.register("busy", { kind: "hold" }, { limits: { concurrency: 1, queuedBytes: 0 } });
      const first = caller.request("busy", "first", { timeout: 10_000 });
      await busy.call("heldCount", { atLeast: 1 });
      const started = performance.now();
      await assert.rejects(caller.request("busy", "second", { timeout: 10_000 }), OverloadedError);
      assert.ok(performance.now() - started < 1000, "refused at once, not at the timeout");
      await busy.call("release");
      assert.equal(text.decode(await first), "first", "the request in progress still completes");
    } finally {
      await busy.stop();
    }
  });

  test("a request to an empty cluster fails with NoMembersError at once, not at its timeout", async () => {
    const started = performance.now();
    await assert.rejects(caller.request("empty", "anyone?", { timeout: 5000 }), NoMembersError);
    const elapsed = performance.now() - started;
    console.log(`NoMembersError after ${elapsed.toFixed(1)} ms`);
    // Parked or timed out, it would take the whole 5 s; a fifth of that leaves room for a loaded machine.
    assert.ok(elapsed < 1000, `took ${elapsed.toFixed(1)} ms`);
  });
});
