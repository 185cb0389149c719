// The connection's life across relay restarts and its own close: drop and reconnect events, joins
// restored without the application's help, work issued while detached, and ClosedError on close.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClosedError, CloseCode } from "../../../core/internal.ts";
import type { Connection, ConnectionSetup } from "../../../core/internal.ts";
import { FrameType } from "../../../core/wire/frames.ts";
import { FrameLog, Mesh, decode, deferred, gatedDialer, makeKeys, settle, TEST_TIMEOUT } from "../../fixtures/mesh.ts";

const FAST_RECONNECT: Partial<ConnectionSetup> = { reconnect: { initialDelay: 2, maxDelay: 10 } };

/** Records the connection's lifecycle events by name. */
function lifecycle(conn: Connection): string[] {
  const events: string[] = [];
  conn.on("attach", () => events.push("attach"));
  conn.on("drop", () => events.push("drop"));
  conn.on("reconnect", () => events.push("reconnect"));
  return events;
}

async function serviceMesh(): Promise<{
  mesh: Mesh;
  member: Connection;
  subscriber: Connection;
  caller: Connection;
  feed: string[];
  nextFeed(): Promise<string>;
}> {
  const mesh = new Mesh(makeKeys("svc", "feed"));
  const member = await mesh.peer(FAST_RECONNECT);
  await member.register("svc", { request: (body) => `served ${decode(body)}` });
  const subscriber = await mesh.peer(FAST_RECONNECT);
  const feed: string[] = [];
  let waiter: ((body: string) => void) | null = null;
  await subscriber.subscribe("feed", (body) => {
    feed.push(decode(body));
    waiter?.(decode(body));
  });
  const caller = await mesh.peer(FAST_RECONNECT);
  return {
    mesh,
    member,
    subscriber,
    caller,
    feed,
    nextFeed: () => new Promise<string>((resolve) => (waiter = resolve)),
  };
}

describe("connection across relay restarts", TEST_TIMEOUT, () => {
  test("peers see drop then reconnect, rejoin by themselves, and requests and publishes work again", async () => {
    const { mesh, member, subscriber, caller, nextFeed } = await serviceMesh();
    try {
      const peers = [member, subscriber, caller];
      const events = peers.map(lifecycle);
      const drops = peers.map((peer) => peer.next("drop"));
      const reconnects = peers.map((peer) => peer.next("reconnect"));
      const oldRelay = mesh.relay;
      const newRelay = mesh.replaceRelay();
      assert.notEqual(oldRelay, newRelay);

      for (const drop of await Promise.all(drops)) {
        assert.equal(drop.code, CloseCode.GoingAway);
        assert.equal(drop.relay, "mem://relay-1");
      }
      await Promise.all(reconnects);
      for (const list of events) assert.deepEqual(list, ["drop", "attach", "reconnect"]);
      for (const peer of peers) assert.equal(peer.relay, "mem://relay-1");

      // The new relay learned everything from the peers themselves, under the same peer ids.
      const snapshot = newRelay.snapshot();
      assert.deepEqual(snapshot.peers.map((p) => p.peerId).sort(), peers.map((p) => p.peerId).sort());
      assert.deepEqual(
        snapshot.clusters.map((c) => c.members),
        [1],
      );
      assert.deepEqual(
        snapshot.topics.map((t) => t.subscribers),
        [1],
      );

      assert.equal(decode(await caller.request("svc", "after restart", { timeout: 5000 })), "served after restart");
      const delivered = nextFeed();
      await caller.publish("feed", "fresh news");
      assert.equal(await delivered, "fresh news");
    } finally {
      await mesh.close();
    }
  });

  test("a request issued while detached completes after the reconnect (member back first)", async () => {
    const { mesh, member, caller } = await serviceMesh();
    try {
      const callerNetwork = gatedDialer(mesh.net.dialer);
      // A second caller whose own network we can hold down, so that the member is back first.
      const gated = await mesh.peer({ ...FAST_RECONNECT, dialer: callerNetwork.dialer });
      const dropped = [member, caller, gated].map((peer) => peer.next("drop"));
      mesh.replaceRelay({}, false); // the relay is gone and nothing listens yet
      await Promise.all(dropped);
      assert.equal(gated.relay, null);

      callerNetwork.open = false;
      const pending = gated.request("svc", "queued while detached", { timeout: 10_000 });
      const memberBack = member.next("reconnect");
      mesh.listen();
      await memberBack;
      const gatedBack = gated.next("reconnect");
      callerNetwork.open = true;
      await gatedBack;
      assert.equal(decode(await pending), "served queued while detached");
      assert.equal(decode(await caller.request("svc", "ok", { timeout: 5000 })), "served ok");
    } finally {
      await mesh.close();
    }
  });

  test("a request issued while detached completes even if the caller is back before the member", async () => {
    const { mesh, member } = await serviceMesh();
    try {
      const memberNetwork = gatedDialer(mesh.net.dialer);
      const member2 = await mesh.peer({ ...FAST_RECONNECT, dialer: memberNetwork.dialer });
      await member2.register("svc", { request: (body) => `served ${decode(body)} by member2` });
      const caller = await mesh.peer(FAST_RECONNECT);
      const dropped = [member, member2, caller].map((peer) => peer.next("drop"));
      // The old member leaves for good; member2 will be late.
      await member.close();
      const relay = mesh.replaceRelay({}, false);
      await Promise.all(dropped.slice(1));

      memberNetwork.open = false;
      const pending = caller.request("svc", "early", { timeout: 10_000 });
      const callerBack = caller.next("reconnect");
      mesh.listen();
      await callerBack;
      await settle();
      // A freshly started relay holds work for a memberless cluster while its peers dial back.
      assert.equal(relay.snapshot().parked, 1);
      memberNetwork.open = true;
      assert.equal(decode(await pending), "served early by member2");
      assert.equal(relay.snapshot().parked, 0);
    } finally {
      await mesh.close();
    }
  });

  test("a request queued while detached is sent exactly once after the reconnect", async () => {
    const { mesh } = await serviceMesh();
    try {
      const log = new FrameLog();
      const caller = await mesh.peer({ ...FAST_RECONNECT, dialer: log.dialer(mesh.net.dialer) });
      const dropped = caller.next("drop");
      mesh.replaceRelay({}, false);
      await dropped;
      const pending = caller.request("svc", "once", { timeout: 10_000 });
      const back = caller.next("reconnect");
      mesh.listen();
      await back;
      assert.equal(decode(await pending), "served once");
      assert.equal(log.sent(FrameType.Request).length, 1, "one request frame on the new link");
    } finally {
      await mesh.close();
    }
  });

  test("a request written in the very tick its link dies is sent again after the reconnect", async () => {
    const { mesh, member, caller } = await serviceMesh();
    try {
      const back = [member.next("reconnect"), caller.next("reconnect")];
      mesh.replaceRelay();
      // The link is already closing but the caller has not heard yet: this frame is lost with it.
      const pending = caller.request("svc", "unlucky", { timeout: 5000 });
      await Promise.all(back);
      assert.equal(decode(await pending), "served unlucky");
    } finally {
      await mesh.close();
    }
  });

  test("restored() resolves once every join is confirmed by the new relay", async () => {
    const { mesh, member, subscriber } = await serviceMesh();
    try {
      const dropped = [member.next("drop"), subscriber.next("drop")];
      const relay = mesh.replaceRelay();
      await Promise.all(dropped);
      await Promise.all([member.restored(), subscriber.restored()]);
      const snapshot = relay.snapshot();
      const memberEntry = snapshot.peers.find((p) => p.peerId === member.peerId)!;
      const subscriberEntry = snapshot.peers.find((p) => p.peerId === subscriber.peerId)!;
      assert.equal(memberEntry.clusters.length, 1);
      assert.equal(subscriberEntry.topics.length, 1);
    } finally {
      await mesh.close();
    }
  });
});

describe("connection close", TEST_TIMEOUT, () => {
  test("close() rejects pending work with ClosedError and refuses new work", async () => {
    const mesh = new Mesh(makeKeys("svc", "feed", "held"));
    try {
      const member = await mesh.peer();
      const entered = deferred();
      await member.register("held", {
        request: () => {
          entered.resolve();
          return new Promise<string>(() => {});
        },
        tunnel: () => {},
      });
      const caller = await mesh.peer(FAST_RECONNECT);
      const events = lifecycle(caller);
      const held = caller.request("held", "wait", { timeout: 30_000 }).catch((e: unknown) => e);
      await entered.promise;
      const tunnel = await caller.tunnel("held");
      const tunnelRead = tunnel.receive().catch((e: unknown) => e);

      await caller.close();
      assert.ok((await held) instanceof ClosedError, "a request in flight fails");
      assert.ok((await tunnelRead) instanceof ClosedError, "an open tunnel fails");
      for (const attempt of [
        caller.request("held", "x"),
        caller.broadcast("svc", "x"),
        caller.publish("feed", "x"),
        caller.tunnel("held"),
        caller.register("svc", {}),
        caller.subscribe("feed", () => {}),
      ]) {
        const error = await attempt.then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(error instanceof ClosedError, `got ${String(error)}`);
      }
      await caller.close(); // twice is harmless
      assert.deepEqual(events, [], "closing on purpose is not a drop");
      await settle();
      assert.ok(!mesh.relay.snapshot().peers.some((p) => p.peerId === caller.peerId), "the relay saw it leave");
    } finally {
      await mesh.close();
    }
  });

  test("work queued while detached fails with ClosedError when the connection is closed", async () => {
    const mesh = new Mesh(makeKeys("svc", "feed"));
    try {
      const member = await mesh.peer();
      await member.register("svc", { request: () => "never reached" });
      const caller = await mesh.peer(FAST_RECONNECT);
      const dropped = caller.next("drop");
      mesh.replaceRelay({}, false);
      await dropped;
      const request = caller.request("svc", "x", { timeout: 30_000 }).catch((e: unknown) => e);
      const publish = caller.publish("feed", "x", { timeout: 30_000 }).catch((e: unknown) => e);
      const tunnel = caller.tunnel("svc", { timeout: 30_000 }).catch((e: unknown) => e);
      const subscribed = caller.subscribe("feed", () => {}, { timeout: 30_000 }).catch((e: unknown) => e);
      await caller.close();
      assert.ok((await request) instanceof ClosedError);
      assert.ok((await publish) instanceof ClosedError);
      assert.ok((await tunnel) instanceof ClosedError);
      assert.ok((await subscribed) instanceof ClosedError);
    } finally {
      await mesh.close();
    }
  });
});

describe("service names", TEST_TIMEOUT, () => {
  test("in development mode, names that are not well-formed Unicode are refused, not merged", async () => {
    const mesh = new Mesh({});
    try {
      const [member, caller] = await mesh.peers(2, { development: true });
      await assert.rejects(member!.register("\uD800", { request: () => "lone high surrogate" }), {
        name: "KeyError",
        message: /well-formed Unicode/,
      });
      await assert.rejects(caller!.request("\uDFFF", "x", { timeout: 1000 }), { name: "KeyError" });
      await assert.rejects(caller!.publish("\uDFFF", "x"), { name: "KeyError" });
      await assert.rejects(
        caller!.subscribe("\uD800", () => {}),
        { name: "KeyError" },
      );
      // A whole surrogate pair is one character, and a fine name.
      await member!.register("\u{1F600}", { request: () => "emoji" });
      assert.equal(decode(await caller!.request("\u{1F600}", "x", { timeout: 5000 })), "emoji");
    } finally {
      await mesh.close();
    }
  });
});
