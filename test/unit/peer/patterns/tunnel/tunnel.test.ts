// Tunnels over one relay and in-memory links: ordered streams both ways, chunking of large messages,
// credit-based flow control, the close handshake, and errors at both ends when something breaks.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ClosedError,
  NoMembersError,
  OverloadedError,
  ProtocolError,
  TooLargeError,
} from "../../../../../core/internal.ts";
import type { Connection, Tunnel } from "../../../../../core/internal.ts";
import { FrameType, TUNNEL_TO_MEMBER } from "../../../../../core/wire/frames.ts";
import { SECRETBOX_OVERHEAD } from "../../../../../core/crypto/nacl.ts";
import {
  FrameLog,
  Mesh,
  decode,
  deferred,
  makeKeys,
  noiseBytes,
  settle,
  TEST_TIMEOUT,
} from "../../../../fixtures/mesh.ts";
import type { Deferred } from "../../../../fixtures/mesh.ts";

/** Reads a tunnel to its end. */
async function drain(tunnel: Tunnel): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const message of tunnel) out.push(message);
  return out;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

describe("tunnels", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let caller: Connection;
  /** Tests waiting for the "probe" member's next tunnel, served first come first served. */
  const probeTunnels: Array<Deferred<Tunnel>> = [];
  /** What the "chat" member read from its tunnel, once the caller closed it. */
  const chatRead = deferred<string[]>();

  before(async () => {
    mesh = new Mesh(makeKeys("echo", "chat", "probe", "empty", "notun", "limited", "small", "fragile"), {
      startupGraceMs: 0,
    });
    const echo = await mesh.peer();
    await echo.register("echo", {
      tunnel: async (tunnel) => {
        for await (const message of tunnel) await tunnel.send(message);
      },
    });
    const chat = await mesh.peer();
    await chat.register("chat", {
      tunnel: async (tunnel) => {
        const reading = drain(tunnel);
        for (let i = 0; i < 50; i++) await tunnel.send(`member-${i}`);
        chatRead.resolve((await reading).map(decode));
      },
    });
    // A member that hands each tunnel to the test waiting for it and otherwise leaves it alone.
    const probe = await mesh.peer({ tunnels: { window: 64 * 1024 } });
    await probe.register("probe", { tunnel: (tunnel) => probeTunnels.shift()?.resolve(tunnel) });
    caller = await mesh.peer();
  });

  after(async () => {
    await mesh.close();
  });

  /** Opens a tunnel to "probe" and returns both ends. */
  async function probePair(from: Connection = caller): Promise<{ near: Tunnel; far: Tunnel }> {
    const far = deferred<Tunnel>();
    probeTunnels.push(far);
    const near = await from.tunnel("probe", { timeout: 5000 });
    return { near, far: await far.promise };
  }

  test("open and accept: each end gets a tunnel in its role", async () => {
    const { near, far } = await probePair();
    assert.equal(near.role, "caller");
    assert.equal(far.role, "member");
    assert.equal(near.name, "probe");
    assert.equal(far.name, "probe");
    assert.equal(near.closed, false);
    await near.send("ping");
    assert.equal(decode((await far.receive())!), "ping");
    await far.send("pong");
    assert.equal(decode((await near.receive())!), "pong");
    await near.close();
    assert.equal(near.closed, true);
    assert.equal(await far.receive(), null, "the member's end sees the end of the stream");
  });

  test("messages flow both ways at once, each direction in order", async () => {
    const tunnel = await caller.tunnel("chat");
    const sending = (async () => {
      for (let i = 0; i < 50; i++) await tunnel.send(`caller-${i}`);
    })();
    const fromMember: string[] = [];
    for (let i = 0; i < 50; i++) fromMember.push(decode((await tunnel.receive())!));
    await sending;
    // Close only after reading: a close ends the tunnel in both directions.
    await tunnel.close();
    assert.equal(await tunnel.receive(), null);
    assert.deepEqual(
      fromMember,
      Array.from({ length: 50 }, (_, i) => `member-${i}`),
    );
    assert.deepEqual(
      await chatRead.promise,
      Array.from({ length: 50 }, (_, i) => `caller-${i}`),
    );
  });

  test("an echo of 300 messages comes back in order", async () => {
    const tunnel = await caller.tunnel("echo");
    const sent = Array.from({ length: 300 }, (_, i) => `message ${i} ${"x".repeat(i % 37)}`);
    const sending = Promise.all(sent.map((m) => tunnel.send(m)));
    const got: string[] = [];
    for (let i = 0; i < sent.length; i++) got.push(decode((await tunnel.receive())!));
    await sending;
    assert.deepEqual(got, sent);
    await tunnel.close();
  });

  test("large messages (several MiB) are chunked and reassembled byte for byte, and empty ones survive", async () => {
    const tunnel = await caller.tunnel("echo");
    const messages = [
      noiseBytes(3 * 1024 * 1024 + 17, 1),
      new Uint8Array(0),
      noiseBytes(5 * 1024 * 1024, 2),
      noiseBytes(1, 3),
    ];
    const sending = Promise.all(messages.map((m) => tunnel.send(m)));
    for (const expected of messages) {
      const got = (await tunnel.receive())!;
      assert.equal(got.length, expected.length);
      assert.ok(Buffer.from(got).equals(Buffer.from(expected)), `a ${expected.length} byte message came back intact`);
    }
    await sending;
    await tunnel.close();
  });

  test("a slow reader holds the sender back: unacknowledged bytes never exceed the window", async () => {
    const window = 64 * 1024; // the probe member's window: the credit it grants callers
    const log = new FrameLog();
    const sender = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    let sentBytes = 0;
    // Credit travels as a running total of what the sender may have sent; it starts at the window.
    let granted = window;
    let worst = 0;
    log.onFrame((direction, frame) => {
      if (direction === "out" && frame.type === FrameType.TunnelData && frame.flags & TUNNEL_TO_MEMBER) {
        sentBytes += frame.sealed.length - SECRETBOX_OVERHEAD - 1; // one byte of piece flags inside the box
        worst = Math.max(worst, sentBytes - granted);
      }
      if (direction === "in" && frame.type === FrameType.TunnelCredit && !(frame.flags & TUNNEL_TO_MEMBER)) {
        granted = Math.max(granted, frame.granted);
      }
    });
    const { near, far } = await probePair(sender);
    const size = 8 * 1024;
    const count = 40;
    let resolved = 0;
    const sends = Array.from({ length: count }, (_, i) => {
      const body = new Uint8Array(size).fill(i);
      return near.send(body).then(() => void resolved++);
    });
    // Nothing reads at the member: once the links are quiet, the sender must be stuck at the window.
    await settle(5);
    assert.equal(sentBytes, window, "exactly one window of data went out");
    assert.equal(resolved, window / size, "sends beyond the window wait for credit");
    assert.equal(granted, window, "no credit came back while nothing was read");

    const got: Uint8Array[] = [];
    for (let i = 0; i < count; i++) got.push((await far.receive())!);
    await Promise.all(sends);
    assert.equal(resolved, count);
    assert.equal(sentBytes, size * count);
    assert.ok(worst <= 0, `the sender went ${worst} bytes past its credit`);
    got.forEach((message, i) => {
      assert.equal(message.length, size);
      assert.ok(
        message.every((byte) => byte === i),
        `message ${i} intact and in order`,
      );
    });
    await near.close();
  });

  test("close() resolves once the member confirms; the member's iterator ends after delivering everything", async () => {
    const { near, far } = await probePair();
    const reading = drain(far);
    const sent = Array.from({ length: 30 }, (_, i) => `item ${i}`);
    for (const m of sent) await near.send(m);
    await near.close();
    assert.equal(near.closed, true);
    assert.deepEqual((await reading).map(decode), sent);
    assert.equal(far.closed, true);

    const callerSend = await failureOf(near.send("too late"));
    assert.ok(callerSend instanceof ClosedError, `got ${String(callerSend)}`);
    const memberSend = await failureOf(far.send("too late"));
    assert.ok(memberSend instanceof ClosedError, `got ${String(memberSend)}`);
    await near.close(); // closing again is harmless
    assert.equal(await near.receive(), null);
  });

  test("the member may close first: the caller reads to the end and its close() resolves", async () => {
    const { near, far } = await probePair();
    await far.send("last words");
    const closing = far.close();
    assert.equal(decode((await near.receive())!), "last words");
    assert.equal(await near.receive(), null);
    await closing;
    await near.close();
    assert.equal(near.closed, true);
  });

  test("a tunnel to an empty cluster fails with NoMembersError", async () => {
    const error = await failureOf(caller.tunnel("empty"));
    assert.ok(error instanceof NoMembersError, `got ${String(error)}`);
  });

  test("a member without a tunnel handler refuses with OverloadedError", async () => {
    const member = await mesh.peer();
    await member.register("notun", { request: () => "only requests here" });
    const error = await failureOf(caller.tunnel("notun"));
    assert.ok(error instanceof OverloadedError, `got ${String(error)}`);
    assert.match(error.message, /does not accept tunnels/);
  });

  test("a member at its tunnel limit refuses with OverloadedError until a tunnel ends", async () => {
    const member = await mesh.peer();
    await member.register("limited", { tunnel: (tunnel) => void drain(tunnel) }, { limits: { tunnels: 1 } });
    const first = await caller.tunnel("limited");
    const refused = await failureOf(caller.tunnel("limited"));
    assert.ok(refused instanceof OverloadedError, `got ${String(refused)}`);
    await first.close();
    const again = await caller.tunnel("limited");
    await again.close();
  });

  test("TooLargeError over tunnels.maxMessage, and the tunnel stays usable", async () => {
    const limited = await mesh.peer({ tunnels: { maxMessage: 4096 } });
    const tunnel = await limited.tunnel("echo");
    const error = await failureOf(tunnel.send(new Uint8Array(4097)));
    assert.ok(error instanceof TooLargeError, `got ${String(error)}`);
    await tunnel.send(noiseBytes(4096, 9));
    assert.deepEqual(await tunnel.receive(), noiseBytes(4096, 9));
    await tunnel.close();
  });

  test("a message over the receiver's limit breaks the tunnel with an error at both ends", async () => {
    const member = await mesh.peer({ tunnels: { maxMessage: 1024 } });
    const memberError = deferred<unknown>();
    await member.register("small", {
      tunnel: async (tunnel) => {
        try {
          await drain(tunnel);
          memberError.resolve(null);
        } catch (error) {
          memberError.resolve(error);
        }
      },
    });
    const tunnel = await caller.tunnel("small");
    await tunnel.send(new Uint8Array(2048));
    const callerError = await failureOf(tunnel.receive());
    assert.ok(callerError instanceof ProtocolError, `caller got ${String(callerError)}`);
    assert.ok((await memberError.promise) instanceof ProtocolError);
  });

  test("when the member's connection closes mid-stream, both ends see ClosedError", async () => {
    const member = await mesh.peer();
    const firstMessage = deferred<string>();
    const memberError = deferred<unknown>();
    await member.register("fragile", {
      tunnel: async (tunnel) => {
        try {
          for await (const message of tunnel) firstMessage.resolve(decode(message));
          memberError.resolve(null);
        } catch (error) {
          memberError.resolve(error);
        }
      },
    });
    const tunnel = await caller.tunnel("fragile");
    await tunnel.send("hello");
    assert.equal(await firstMessage.promise, "hello");
    const pendingRead = tunnel.receive();
    await member.close();
    const readError = await failureOf(pendingRead);
    assert.ok(readError instanceof ClosedError, `caller's read got ${String(readError)}`);
    const sendError = await failureOf(tunnel.send("anyone?"));
    assert.ok(sendError instanceof ClosedError, `caller's send got ${String(sendError)}`);
    assert.ok((await memberError.promise) instanceof ClosedError, "the member's iterator failed too");
    const closeError = await failureOf(tunnel.close());
    assert.ok(closeError instanceof ClosedError);
  });

  test("when the caller's connection closes mid-stream, the member's iterator rejects with ClosedError", async () => {
    const leaving = await mesh.peer();
    const { near, far } = await probePair(leaving);
    await near.send("one");
    assert.equal(decode((await far.receive())!), "one");
    const pendingRead = far.receive();
    await leaving.close();
    const error = await failureOf(pendingRead);
    assert.ok(error instanceof ClosedError, `member got ${String(error)}`);
    const sendError = await failureOf(far.send("still there?"));
    assert.ok(sendError instanceof ClosedError);
    const callerSide = await failureOf(near.receive());
    assert.ok(callerSide instanceof ClosedError, "the closed connection failed its own tunnel");
  });
});
