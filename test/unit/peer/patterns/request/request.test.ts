// Request/reply over one relay and in-memory links: balancing, every error a caller can meet, and what
// happens when a member goes away in the middle of a request.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ClosedError,
  KeyError,
  NoMembersError,
  OverloadedError,
  RemoteError,
  TimeoutError,
  TooLargeError,
} from "../../../../../core/internal.ts";
import { LinkWrapper } from "../../../../../core/internal.ts";
import type { Connection, Dialer, Link, LinkHandlers } from "../../../../../core/internal.ts";
import { FrameType, decodeFrame } from "../../../../../core/wire/frames.ts";
import {
  FrameLog,
  Mesh,
  decode,
  deferred,
  makeKeys,
  mortalDialer,
  noiseBytes,
  settle,
  TEST_TIMEOUT,
} from "../../../../fixtures/mesh.ts";

const MAX_MESSAGE = 64 * 1024;

describe("request/reply", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let members: Connection[];
  let callers: Connection[];
  /** Requests each of the 10 "db" members handled. */
  const served = new Map<number, number>();

  before(async () => {
    mesh = new Mesh(
      makeKeys(
        "db",
        "echo",
        "empty",
        "faulty",
        "busy",
        "queue",
        "silent",
        "held",
        "retry",
        "solo",
        "closing",
        "unreg",
        "nohandler",
      ),
      // No startup grace: an empty cluster must fail at once.
      { maxMessage: MAX_MESSAGE, startupGraceMs: 0 },
    );
    members = await mesh.peers(10);
    await Promise.all(
      members.map((member, index) =>
        member.register("db", {
          request: (body, info) => {
            served.set(index, (served.get(index) ?? 0) + 1);
            return `${index}|${info.origin}|${decode(body)}`;
          },
        }),
      ),
    );
    callers = await mesh.peers(3);
  });

  after(async () => {
    await mesh.close();
  });

  test("600 requests from 3 callers over 10 members: every reply matches its request, load spreads", async () => {
    served.clear();
    const perCaller = 200;
    const replies = await Promise.all(
      callers.flatMap((caller, c) =>
        Array.from({ length: perCaller }, (_, i) =>
          caller
            .request("db", `caller${c}-req${i}`, { timeout: 10_000 })
            .then((reply) => ({ c, i, reply: decode(reply) })),
        ),
      ),
    );
    for (const { c, i, reply } of replies) {
      const [member, origin, body] = reply.split("|");
      assert.equal(body, `caller${c}-req${i}`);
      assert.equal(origin, callers[c]!.peerId, "the member saw the caller's peer id as origin");
      assert.ok(Number(member) >= 0 && Number(member) < members.length);
    }
    const total = perCaller * callers.length;
    assert.equal(
      [...served.values()].reduce((a, b) => a + b, 0),
      total,
      "each request was handled exactly once",
    );
    const fair = total / members.length;
    for (let index = 0; index < members.length; index++) {
      const count = served.get(index) ?? 0;
      assert.ok(count >= fair * 0.5 && count <= fair * 1.5, `member ${index} served ${count} of ${total}`);
    }
  });

  test("a body of exactly the max message size goes through; one byte more is TooLargeError and nothing is sent", async () => {
    const echo = await mesh.peer();
    await echo.register("echo", { request: (body) => body });
    const log = new FrameLog();
    const caller = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    const exact = noiseBytes(MAX_MESSAGE, 3);
    const reply = await caller.request("echo", exact, { timeout: 5000 });
    assert.deepEqual(reply, exact, "the body went there and back byte for byte");
    const sentBefore = log.sent(FrameType.Request).length;
    assert.equal(sentBefore, 1);
    const error = await caller.request("echo", new Uint8Array(MAX_MESSAGE + 1)).catch((e: unknown) => e);
    assert.ok(error instanceof TooLargeError, `got ${String(error)}`);
    assert.equal(error.code, "TOO_LARGE");
    assert.equal(log.sent(FrameType.Request).length, sentBefore, "nothing was sent");
  });

  test("NoMembersError at once for a cluster without members", async () => {
    const started = performance.now();
    const error = await callers[0]!.request("empty", "anyone?", { timeout: 20_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof NoMembersError, `got ${String(error)}`);
    assert.match(error.message, /empty/);
    // Not the 20 s timeout: the relay answers as soon as it sees the request.
    assert.ok(performance.now() - started < 2000);
  });

  test("RemoteError carries the handler's message; a member without a request handler says so", async () => {
    const member = await mesh.peer();
    await member.register("faulty", {
      request: (body) => {
        if (decode(body) === "async") return Promise.reject(new Error("async failure 7"));
        throw new Error("kaboom 42");
      },
    });
    const sync = await callers[0]!.request("faulty", "sync").catch((e: unknown) => e);
    assert.ok(sync instanceof RemoteError);
    assert.equal(sync.message, "kaboom 42");
    assert.equal(sync.code, "REMOTE");
    const rejected = await callers[0]!.request("faulty", "async").catch((e: unknown) => e);
    assert.ok(rejected instanceof RemoteError);
    assert.equal(rejected.message, "async failure 7");

    const broadcastOnly = await mesh.peer();
    await broadcastOnly.register("nohandler", { broadcast: () => {} });
    const none = await callers[0]!.request("nohandler", "hi").catch((e: unknown) => e);
    assert.ok(none instanceof RemoteError);
    assert.match(none.message, /does not handle requests/);
  });

  test("OverloadedError when a member's concurrency and queue are full; held work still completes", async () => {
    const member = await mesh.peer();
    const entered = deferred();
    const release = deferred();
    let calls = 0;
    await member.register(
      "busy",
      {
        request: async (body) => {
          calls++;
          entered.resolve();
          await release.promise;
          return `done ${decode(body)}`;
        },
      },
      { limits: { concurrency: 1, queuedBytes: 0 } },
    );
    const first = callers[0]!.request("busy", "first", { timeout: 10_000 });
    await entered.promise;
    const error = await callers[1]!.request("busy", "second", { timeout: 10_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof OverloadedError, `got ${String(error)}`);
    assert.match(error.message, /overloaded/);
    release.resolve();
    assert.equal(decode(await first), "done first");
    assert.equal(calls, 1, "the refused request never reached the handler");
  });

  test("requests queue up to queuedBytes behind a busy handler, in order, and overflow is refused", async () => {
    const member = await mesh.peer();
    const release = deferred();
    const entered = deferred();
    const order: string[] = [];
    await member.register(
      "queue",
      {
        request: async (body) => {
          order.push(decode(body));
          entered.resolve();
          await release.promise;
          return decode(body);
        },
      },
      { limits: { concurrency: 1, queuedBytes: 6 } },
    );
    const caller = callers[2]!;
    const running = caller.request("queue", "run");
    await entered.promise;
    const queued1 = caller.request("queue", "q-1");
    const queued2 = caller.request("queue", "q-2");
    const refused = caller.request("queue", "q-3").catch((e: unknown) => e);
    assert.ok((await refused) instanceof OverloadedError);
    release.resolve();
    assert.deepEqual((await Promise.all([running, queued1, queued2])).map(decode), ["run", "q-1", "q-2"]);
    assert.deepEqual(order, ["run", "q-1", "q-2"]);
  });

  test("KeyError for a cluster without a key, and nothing is sent", async () => {
    const log = new FrameLog();
    const caller = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    const error = await caller.request("no-such-key", "x").catch((e: unknown) => e);
    assert.ok(error instanceof KeyError);
    assert.equal(error.code, "KEY");
    assert.equal(log.sent(FrameType.Request).length, 0);
  });

  test("TimeoutError when a member never replies; its stack shows the code that awaited the request", async () => {
    const member = await mesh.peer();
    const entered = deferred();
    await member.register("silent", {
      request: () => {
        entered.resolve();
        return new Promise<string>(() => {}); // never replies
      },
    });
    // The error is made when the timeout happens, in the request's own async frame: V8's async stack
    // traces name every function up the chain that awaits it.
    async function askTheSilentClusterFromThisTest(): Promise<Uint8Array> {
      return await callers[0]!.request("silent", "hello?", { timeout: 80 });
    }
    const started = performance.now();
    const error = await askTheSilentClusterFromThisTest().catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    await entered.promise;
    assert.ok(error instanceof TimeoutError, `got ${String(error)}`);
    assert.equal(error.code, "TIMEOUT");
    assert.ok(elapsed >= 75, `timed out after ${elapsed.toFixed(1)} ms`);
    assert.ok(error.stack?.includes("askTheSilentClusterFromThisTest"), error.stack);
  });

  test("an AbortSignal aborts a pending request; an aborted signal refuses at once", async () => {
    const member = await mesh.peer();
    const entered = deferred();
    await member.register("held", {
      request: () => {
        entered.resolve();
        return new Promise<string>(() => {});
      },
    });
    const controller = new AbortController();
    const pending = callers[0]!.request("held", "wait", { signal: controller.signal, timeout: 20_000 });
    await entered.promise;
    controller.abort(new Error("user gave up"));
    await assert.rejects(pending, /user gave up/);

    const log = new FrameLog();
    const caller = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    const error = await caller.request("held", "never", { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    assert.ok(error instanceof Error && error.name === "AbortError", `got ${String(error)}`);
    assert.equal(log.sent(FrameType.Request).length, 0);
  });

  test("a member that dies mid-request: the request is retried on another member and succeeds once", async () => {
    const mortals = [mortalDialer(mesh.net.dialer), mortalDialer(mesh.net.dialer)];
    const pair = await Promise.all(mortals.map((mortal) => mesh.peer({ dialer: mortal.dialer })));
    const firstCall = deferred<number>();
    const invocations: number[] = [];
    await Promise.all(
      pair.map((member, index) =>
        member.register("retry", {
          request: (body) => {
            invocations.push(index);
            if (invocations.length === 1) {
              firstCall.resolve(index);
              return new Promise<string>(() => {}); // dies before replying
            }
            return `member ${index}: ${decode(body)}`;
          },
        }),
      ),
    );
    const request = callers[1]!.request("retry", "important", { timeout: 10_000 });
    const doomed = await firstCall.promise;
    mortals[doomed]!.die();
    const survivor = 1 - doomed;
    assert.equal(decode(await request), `member ${survivor}: important`);
    assert.deepEqual(invocations, [doomed, survivor], "one attempt at each member, no more");
  });

  test("with no other member, the caller gets ClosedError at once when its member dies", async () => {
    const mortal = mortalDialer(mesh.net.dialer);
    const member = await mesh.peer({ dialer: mortal.dialer });
    const entered = deferred();
    await member.register("solo", {
      request: () => {
        entered.resolve();
        return new Promise<string>(() => {});
      },
    });
    // A long timeout: only the relay's MemberLost answer can end this request quickly.
    const request = callers[0]!.request("solo", "x", { timeout: 30_000 }).catch((e: unknown) => e);
    await entered.promise;
    mortal.die();
    const error = await request;
    assert.ok(error instanceof ClosedError, `got ${String(error)}`);
    assert.match(error.message, /member left/);
  });

  test("a member that closes mid-request finishes it first, and hands back what waited for a handler", async () => {
    const [leaving, staying] = await mesh.peers(2);
    const started = deferred();
    let release!: () => void;
    const running = new Promise<void>((resolve) => (release = resolve));
    const servedBy: string[] = [];
    await leaving!.register(
      "closing",
      {
        request: async (body) => {
          servedBy.push("leaving");
          started.resolve();
          await running;
          return `leaving: ${decode(body)}`;
        },
      },
      { limits: { concurrency: 1 } },
    );
    // The leaving member takes the first request; the second waits behind it for its only handler.
    const first = callers[2]!.request("closing", "first", { timeout: 10_000 });
    await started.promise;
    const second = callers[2]!.request("closing", "second", { timeout: 10_000 });
    await settle();
    await staying!.register("closing", {
      request: (body) => {
        servedBy.push("staying");
        return `staying: ${decode(body)}`;
      },
    });
    const closed = leaving!.close();
    // The second request is handed back at once and placed on the member that stays.
    assert.equal(decode(await second), "staying: second");
    release();
    await closed;
    assert.equal(decode(await first), "leaving: first", "the running request finished before the member went");
    assert.deepEqual(servedBy, ["leaving", "staying"]);
  });

  test("unregister stops new requests reaching that member", async () => {
    const [leaving, staying] = await mesh.peers(2);
    const counts = [0, 0];
    const registrations = await Promise.all(
      [leaving!, staying!].map((member, index) =>
        member.register("unreg", {
          request: () => {
            counts[index]!++;
            return `${index}`;
          },
        }),
      ),
    );
    const warmup = await Promise.all(Array.from({ length: 40 }, () => callers[0]!.request("unreg", "x")));
    assert.equal(warmup.length, 40);
    assert.ok(counts[0]! > 0 && counts[1]! > 0, `both members served before: ${counts.join("/")}`);

    await registrations[0]!.unregister();
    const servedByLeaving = counts[0]!;
    const replies = await Promise.all(Array.from({ length: 40 }, () => callers[0]!.request("unreg", "y")));
    assert.deepEqual(new Set(replies.map(decode)), new Set(["1"]));
    assert.equal(counts[0], servedByLeaving, "the unregistered member handled nothing more");
  });
});

describe("a reply lost with its link", TEST_TIMEOUT, () => {
  test("the re-sent request is answered from the member's reply cache; the handler runs once", async () => {
    const mesh = new Mesh(makeKeys("cache"), { startupGraceMs: 0 });
    try {
      const member = await mesh.peer();
      let runs = 0;
      await member.register("cache", {
        request: (body) => {
          runs++;
          return `reply to ${decode(body)}`;
        },
      });
      // The caller's first link swallows the first reply it receives and dies with it, as when a
      // relay crashes just after forwarding a reply.
      let swallowed = false;
      const lossy: Dialer = async (address, options) =>
        dropFirst(await mesh.net.dialer(address, options), (bytes) => {
          if (swallowed || decodeFrame(bytes).type !== FrameType.Reply) return false;
          return (swallowed = true);
        });
      const caller = await mesh.peer({ dialer: lossy, reconnect: { initialDelay: 1, maxDelay: 5 } });
      const reconnected = caller.next("reconnect");
      const reply = caller.request("cache", "once", { timeout: 10_000 });
      await reconnected;
      assert.equal(decode(await reply), "reply to once");
      assert.ok(swallowed, "the first reply was really lost");
      assert.equal(runs, 1, "the handler ran once; the second reply came from the cache");
    } finally {
      await mesh.close();
    }
  });
});

/** A link that, when `drop(frame)` says so, loses that incoming frame and closes as if it crashed. */
function dropFirst(link: Link, drop: (bytes: Uint8Array) => boolean): Link {
  return new (class extends LinkWrapper {
    override listen(handlers: LinkHandlers): void {
      this.inner.listen({
        frame: (bytes) => (drop(bytes) ? this.inner.close(1006, "dropped by the test") : handlers.frame(bytes)),
        close: handlers.close,
      });
    }
  })(link);
}
