// AbortSignal on every call that waits. Each case makes the call wait for real (the relay link is down,
// or a member never answers), aborts it, and checks that it rejects with the signal's reason and that
// nothing of it remains: no late delivery, no registration or subscription restored later.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect } from "../../../core/internal.ts";
import type { Connection, Dialer, Link } from "../../../core/internal.ts";
import { Mesh, RELAY_ADDRESS, TEST_TIMEOUT, decode, deferred, gatedDialer, makeKeys } from "../../fixtures/mesh.ts";

const FAST_RECONNECT = { reconnect: { initialDelay: 2, maxDelay: 10 } };

class Stop extends Error {}

/** Aborts `controller` with a reason of our own, and checks the call rejects with exactly it. */
async function abortsWithReason(call: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const controller = new AbortController();
  const pending = call(controller.signal);
  const reason = new Stop("stop waiting");
  // Every call registers its wait before it returns its promise: this abort hits the wait itself.
  controller.abort(reason);
  await assert.rejects(pending, (error: unknown) => error === reason);
}

/** A mesh whose relay has gone away: calls that need it wait, until listen() brings it back. */
async function detachedPeers(names: string[]): Promise<{ mesh: Mesh; caller: Connection; other: Connection }> {
  const mesh = new Mesh(makeKeys(...names));
  const caller = await mesh.peer(FAST_RECONNECT);
  const other = await mesh.peer(FAST_RECONNECT);
  const dropped = Promise.all([caller.next("drop"), other.next("drop")]);
  mesh.replaceRelay({}, false);
  await dropped;
  return { mesh, caller, other };
}

async function bringBack(mesh: Mesh, peers: Connection[]): Promise<void> {
  const back = Promise.all(peers.map((peer) => peer.next("attach")));
  mesh.listen();
  await back;
  await Promise.all(peers.map((peer) => peer.restored()));
}

describe("AbortSignal on every call that waits", TEST_TIMEOUT, () => {
  test("an already aborted signal fails each call at once, with its reason, before anything is sent", async () => {
    const mesh = new Mesh(makeKeys("svc", "news"));
    try {
      const conn = await mesh.peer();
      const reason = new Stop("already");
      const signal = AbortSignal.abort(reason);
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["request", () => conn.request("svc", "x", { signal })],
        ["broadcast", () => conn.broadcast("svc", "x", { signal })],
        ["publish", () => conn.publish("news", "x", { signal })],
        ["subscribe", () => conn.subscribe("news", () => {}, { signal })],
        ["register", () => conn.register("svc", {}, { signal })],
        ["tunnel", () => conn.tunnel("svc", { signal })],
        ["inspect", () => conn.inspect(undefined, { signal })],
      ];
      for (const [name, call] of calls) await assert.rejects(call(), (error: unknown) => error === reason, name);
      // Nothing stayed registered or subscribed.
      const report = await conn.inspect();
      assert.deepEqual(report.peers.find((peer) => peer.peerId === conn.peerId)?.clusters, []);
      assert.deepEqual(report.peers.find((peer) => peer.peerId === conn.peerId)?.topics, []);
    } finally {
      await mesh.close();
    }
  });

  test("connect() stops dialing and closes when its signal aborts", async () => {
    // A relay that never answers the dial: connect() would wait for its connectTimeout.
    const hanging: Dialer = () => new Promise(() => {});
    await abortsWithReason((signal) =>
      connect({ relays: [RELAY_ADDRESS], dialer: hanging, connectTimeout: Number.POSITIVE_INFINITY, signal }),
    );
  });

  test("request: a member that never answers", async () => {
    const mesh = new Mesh(makeKeys("svc"));
    try {
      const member = await mesh.peer();
      const never = deferred<string>();
      await member.register("svc", { request: () => never.promise });
      const caller = await mesh.peer();
      await abortsWithReason((signal) => caller.request("svc", "x", { signal, timeout: 60_000 }));
      assert.equal(caller.pendingRequests, 0);
    } finally {
      await mesh.close();
    }
  });

  test("register and subscribe while the relay is away: nothing is restored when it comes back", async () => {
    const { mesh, caller, other } = await detachedPeers(["svc", "news"]);
    try {
      await abortsWithReason((signal) => caller.register("svc", { request: () => "late" }, { signal }));
      await abortsWithReason((signal) => caller.subscribe("news", () => {}, { signal }));
      await bringBack(mesh, [caller, other]);
      const report = await caller.inspect();
      const self = report.peers.find((peer) => peer.peerId === caller.peerId);
      assert.deepEqual([self?.clusters, self?.topics], [[], []], "no membership was left behind");
      // And registering again is not refused as a duplicate.
      await (await caller.register("svc", { request: () => "now" })).unregister();
    } finally {
      await mesh.close();
    }
  });

  test("publish and broadcast while the caller is cut off: the aborted message is withdrawn, never sent", async () => {
    const mesh = new Mesh(makeKeys("svc", "news"));
    try {
      const heard: string[] = [];
      const after = deferred();
      const other = await mesh.peer();
      const hear = (body: Uint8Array) => {
        heard.push(decode(body));
        if (decode(body) === "after") after.resolve();
      };
      await other.subscribe("news", hear);
      await other.register("svc", { broadcast: hear });
      // The caller loses its own link (and cannot dial) while the other peer stays attached.
      const gate = gatedDialer(mesh.net.dialer);
      let link: Link | null = null;
      const dialer: Dialer = async (address, options) => (link = await gate.dialer(address, options));
      const caller = await mesh.peer({ ...FAST_RECONNECT, dialer });
      gate.open = false;
      const dropped = caller.next("drop");
      link!.close(1006, "cut by the test");
      await dropped;
      // Both wait in the caller's outbox for a link; both are aborted there.
      await abortsWithReason((signal) => caller.publish("news", "withdrawn publish", { signal }));
      await abortsWithReason((signal) => caller.broadcast("svc", "withdrawn broadcast", { signal }));
      const sent = caller.publish("news", "after");
      gate.open = true;
      await sent;
      await after.promise;
      assert.deepEqual(heard, ["after"], "only what was not withdrawn arrived");
    } finally {
      await mesh.close();
    }
  });

  test("tunnel open and inspect while the relay is away", async () => {
    const { mesh, caller } = await detachedPeers(["svc"]);
    try {
      await abortsWithReason((signal) => caller.tunnel("svc", { signal, timeout: 60_000 }));
      await abortsWithReason((signal) => caller.inspect(undefined, { signal, timeout: 60_000 }));
    } finally {
      await mesh.close();
    }
  });
});
