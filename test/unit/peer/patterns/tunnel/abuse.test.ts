// Credit and acknowledgement travel outside the session seal (relays route on them), so a hostile relay
// can forge them. Whatever it forges, the worst it achieves is a tunnel that ends with ProtocolError at
// both ends: a receiver never buffers past the window it granted, and nothing corrupt is delivered.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError } from "../../../../../core/internal.ts";
import type { Connection, Tunnel } from "../../../../../core/internal.ts";
import { FrameType, decodeFrame, encodeFrame } from "../../../../../core/wire/frames.ts";
import type { Frame } from "../../../../../core/wire/frames.ts";
import { Mesh, TEST_TIMEOUT, deferred, makeKeys, meddlingDialer } from "../../../../fixtures/mesh.ts";
import type { Deferred } from "../../../../fixtures/mesh.ts";

const WINDOW = 64 * 1024;

/** How a tunnel's reader ended: null for a clean end, the error otherwise; and what it read. */
interface Reading {
  read: number;
  ended: Promise<unknown>;
}

function readAll(tunnel: Tunnel): Reading {
  const reading: Reading = { read: 0, ended: Promise.resolve(null) };
  reading.ended = (async () => {
    try {
      for await (const message of tunnel) reading.read += message.length;
      return null;
    } catch (error) {
      return error;
    }
  })();
  return reading;
}

describe("forged tunnel credit", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let caller: Connection;
  let meddling: ReturnType<typeof meddlingDialer>;
  const accepted: Array<Deferred<Tunnel>> = [];

  before(async () => {
    mesh = new Mesh(makeKeys("sink"), { startupGraceMs: 0 });
    const member = await mesh.peer({ tunnels: { window: WINDOW, maxWindow: WINDOW } });
    await member.register("sink", { tunnel: (tunnel) => accepted.shift()?.resolve(tunnel) });
    meddling = meddlingDialer(mesh.net.dialer);
    caller = await mesh.peer({ dialer: meddling.dialer });
  });

  after(async () => {
    await mesh.close();
  });

  /** Rewrites the next credit frame the caller receives (or, `alongside`, adds a forged one after it). */
  function forgeNextCredit(
    forge: (granted: number, ack: number) => { granted: number; ack: number },
    alongside = false,
  ): Promise<void> {
    const done = deferred();
    meddling.meddle = (bytes) => {
      const frame: Frame = decodeFrame(bytes);
      if (frame.type !== FrameType.TunnelCredit) return [bytes];
      meddling.meddle = null;
      done.resolve();
      const forged = encodeFrame({ ...frame, ...forge(frame.granted, frame.ack) });
      return alongside ? [bytes, forged] : [forged];
    };
    return done.promise;
  }

  /** Opens a tunnel; the member's end reads everything at once unless `reading` is false. */
  async function open(reading = true): Promise<{ tunnel: Tunnel; far: Tunnel; member: Reading }> {
    const far = deferred<Tunnel>();
    accepted.push(far);
    const tunnel = await caller.tunnel("sink");
    const farTunnel = await far.promise;
    return { tunnel, far: farTunnel, member: reading ? readAll(farTunnel) : { read: 0, ended: Promise.resolve(null) } };
  }

  async function failureOf(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    return assert.fail("expected the tunnel to fail");
  }

  test("an impossibly large grant ends the tunnel with ProtocolError at both ends", async () => {
    const { tunnel, member } = await open();
    const forged = forgeNextCredit((_, ack) => ({ granted: 2 ** 50, ack }));
    await tunnel.send(new Uint8Array(WINDOW)); // the member grants credit as it reads
    await forged;
    const error = await failureOf(tunnel.receive());
    assert.ok(error instanceof ProtocolError && /invalid tunnel credit/.test(error.message), String(error));
    assert.ok((await member.ended) instanceof ProtocolError, "the member's end failed too");
  });

  test("an acknowledgement of pieces never sent ends the tunnel with ProtocolError at both ends", async () => {
    const { tunnel, member } = await open();
    const forged = forgeNextCredit((granted) => ({ granted, ack: 1_000_000 }));
    await tunnel.send(new Uint8Array(WINDOW));
    await forged;
    const error = await failureOf(tunnel.receive());
    assert.ok(error instanceof ProtocolError && /invalid tunnel credit/.test(error.message), String(error));
    assert.ok((await member.ended) instanceof ProtocolError);
  });

  test("a plausible forged grant lets the sender overrun, and the receiver refuses past its window", async () => {
    // The member does not read: its first grant (for the first message, taken on arrival) is its last.
    const { tunnel, far } = await open(false);
    const forged = forgeNextCredit((granted, ack) => ({ granted: granted + 16 * 1024 * 1024, ack }));
    await tunnel.send(new Uint8Array(WINDOW));
    await forged;
    const overrun = tunnel.send(new Uint8Array(4 * 1024 * 1024)).catch((error: unknown) => error);
    const callerError = await failureOf(tunnel.receive());
    assert.ok(
      callerError instanceof ProtocolError && /more than its credit/.test(callerError.message),
      String(callerError),
    );
    // The member's end holds what it accepted within its window, then reports the overrun.
    const member = readAll(far);
    const memberError = await member.ended;
    assert.ok(
      memberError instanceof ProtocolError && /more than its credit/.test(memberError.message),
      String(memberError),
    );
    assert.equal(member.read, WINDOW, "only the message within the window was delivered");
    await overrun;
  });

  test("a stale total (lower than one already seen) changes nothing: the tunnel carries on", async () => {
    const { tunnel, member } = await open();
    const forged = forgeNextCredit(() => ({ granted: 0, ack: 0 }), true);
    await tunnel.send(new Uint8Array(WINDOW));
    await tunnel.send(new Uint8Array(WINDOW));
    await forged;
    await tunnel.send(new Uint8Array(3 * WINDOW));
    await tunnel.close();
    assert.equal(await member.ended, null);
    assert.equal(member.read, 5 * WINDOW);
  });
});
