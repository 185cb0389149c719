// A relay that turns on its peers: a proxy in the relay's place (test/fixtures/meddling-proxy.ts) drops,
// reorders, duplicates and alters frames on their way to a member. Reordering and repeats are undone
// by the tunnel's sequence numbers; a flipped bit or a withheld piece ends the tunnel with an error at
// both ends; and no altered message ever reaches a handler.

import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey, TimeoutError } from "../../core/node.ts";
import type { Connection, Tunnel } from "../../core/node.ts";
import { FrameType } from "../../core/wire/frames.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { flipSealedBit, frameType, startMeddlingProxy } from "../fixtures/meddling-proxy.ts";
import type { MeddlingProxy } from "../fixtures/meddling-proxy.ts";

const keys = { vault: generateKey(), alerts: generateKey() };
const text = new TextDecoder();
const GAP_TIMEOUT = 500;

interface Session {
  messages: string[];
  /** Null for a clean end, the error otherwise. */
  ended: Promise<Error | null>;
}

describe("a malicious relay", () => {
  let relay: RelayProcess;
  let proxy: MeddlingProxy;
  let member: Connection;
  let caller: Connection;
  const sessions: Session[] = [];
  let sessionStarted: (session: Session) => void = () => {};
  const handled: string[] = [];
  const memberErrors: Array<{ error: Error; context: string }> = [];
  let memberErrored = () => {};

  before(async () => {
    relay = await startRelay(["--startup-grace", "0"]);
    proxy = await startMeddlingProxy(relay.url);
    const tunnels = { gapTimeout: GAP_TIMEOUT };
    member = await connect({ relays: [proxy.url], keys, tunnels });
    caller = await connect({ relays: [relay.url], keys, tunnels });
    member.on("error", (event) => {
      memberErrors.push(event);
      memberErrored();
    });
    await member.register("vault", {
      request: (body) => {
        handled.push(`request ${text.decode(body)}`);
        return body;
      },
      broadcast: (body) => void handled.push(`broadcast ${text.decode(body)}`),
      tunnel: (tunnel) => {
        const session: Session = { messages: [], ended: Promise.resolve(null) };
        session.ended = (async () => {
          try {
            for await (const message of tunnel) session.messages.push(text.decode(message));
            return null;
          } catch (error) {
            return error as Error;
          }
        })();
        sessions.push(session);
        sessionStarted(session);
      },
    });
    await member.subscribe("alerts", (body) => void handled.push(`publish ${text.decode(body)}`));
  });

  after(async () => {
    await caller?.close();
    await member?.close();
    await proxy?.stop();
    await relay?.stop();
  });

  beforeEach(() => proxy.meddle(null));

  /** Opens a tunnel from the caller and waits for the member's side of it. */
  async function openTunnel(): Promise<{ tunnel: Tunnel; session: Session }> {
    const started = new Promise<Session>((resolve) => (sessionStarted = resolve));
    const tunnel = await caller.tunnel("vault");
    return { tunnel, session: await started };
  }

  /** Sends numbered messages, stopping quietly if the tunnel fails under us. */
  async function sendNumbered(tunnel: Tunnel, count: number): Promise<string[]> {
    const sent: string[] = [];
    for (let i = 0; i < count; i++) {
      try {
        await tunnel.send(`piece ${i}`);
        sent.push(`piece ${i}`);
      } catch {
        break;
      }
    }
    return sent;
  }

  /** Applies `meddle` to the `n`th tunnel piece on its way to the member (counting from 0), passes the rest. */
  function atPiece(n: number, meddle: (frame: Uint8Array) => Uint8Array[]): void {
    let seen = 0;
    proxy.meddle((frame, direction) => {
      if (direction !== "toPeer" || frameType(frame) !== FrameType.TunnelData) return [frame];
      return seen++ === n ? meddle(frame) : [frame];
    });
  }

  test("reordered and repeated pieces are put back in order, each delivered once", { timeout: 30_000 }, async () => {
    const { tunnel, session } = await openTunnel();
    // Every piece twice, and each pair swapped: 1 0 1 0 3 2 3 2 ...
    let held: Uint8Array | null = null;
    proxy.meddle((frame, direction) => {
      if (direction !== "toPeer" || frameType(frame) !== FrameType.TunnelData) return [frame];
      if (!held) {
        held = frame;
        return [];
      }
      const pair = [frame, frame, held, held];
      held = null;
      return pair;
    });
    const sent = await sendNumbered(tunnel, 20);
    await tunnel.close();
    assert.equal(await session.ended, null, "the tunnel ends cleanly");
    assert.deepEqual(session.messages, sent);
    assert.equal(sent.length, 20);
  });

  test("a flipped bit in a piece ends the tunnel with an error at both ends; the handler sees only intact pieces", {
    timeout: 30_000,
  }, async () => {
    const { tunnel, session } = await openTunnel();
    atPiece(4, (frame) => [flipSealedBit(frame)]);
    const sent = await sendNumbered(tunnel, 10);
    const memberError = await session.ended;
    assert.ok(memberError, "the member's tunnel failed");
    assert.match(memberError.message, /does not authenticate/);
    await assert.rejects(tunnel.receive(), /does not authenticate/, "the caller's tunnel failed too");
    assert.deepEqual(session.messages, ["piece 0", "piece 1", "piece 2", "piece 3"]);
    assert.ok(sent.length >= 4);
  });

  test("a withheld piece ends the tunnel at both ends after the gap timeout, delivering only what came before it", {
    timeout: 30_000,
  }, async () => {
    const { tunnel, session } = await openTunnel();
    atPiece(2, () => []);
    await sendNumbered(tunnel, 6);
    const memberError = await session.ended;
    assert.ok(memberError, "the member's tunnel failed");
    assert.match(memberError.message, /piece 2 never arrived/);
    await assert.rejects(tunnel.receive(), /never arrived/, "the caller's tunnel failed too");
    assert.deepEqual(session.messages, ["piece 0", "piece 1"]);
  });

  test("altered requests, broadcasts and publications are refused: no handler runs, the member reports each", {
    timeout: 30_000,
  }, async () => {
    const sealedTypes: ReadonlySet<number> = new Set([FrameType.Request, FrameType.Broadcast, FrameType.Publish]);
    proxy.meddle((frame, direction) => {
      const type = frameType(frame);
      return direction === "toPeer" && type !== null && sealedTypes.has(type) ? [flipSealedBit(frame, 200)] : [frame];
    });
    const before = memberErrors.length;
    const threeErrors = new Promise<void>((resolve) => {
      memberErrored = () => memberErrors.length - before >= 3 && resolve();
    });
    const request = caller.request("vault", "tampered request", { timeout: 1500 });
    await caller.broadcast("vault", "tampered broadcast");
    await caller.publish("alerts", "tampered publication");
    await threeErrors;
    await assert.rejects(request, TimeoutError, "an unreadable request gets no reply");
    assert.deepEqual(handled, [], "nothing reached a handler");
    assert.ok(memberErrors.slice(before).every((event) => /authenticate|unreadable|seal/i.test(event.error.message)));

    // The same path untouched: everything arrives, so it was the alteration that was refused.
    proxy.meddle(null);
    assert.equal(text.decode(await caller.request("vault", "intact")), "intact");
    assert.deepEqual(handled, ["request intact"]);
  });
});
