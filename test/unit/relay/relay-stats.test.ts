// A relay's traffic counters (relay-stats.ts), as its report carries them: frames and bytes by kind in
// both directions, requests placed, refused handshakes, and the levels read at the moment of asking.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CloseCode } from "../../../core/internal.ts";
import type { Connection } from "../../../core/internal.ts";
import { encodeFrame, FrameType } from "../../../core/wire/frames.ts";
import { Mesh, makeKeys, settle, TEST_TIMEOUT } from "../../fixtures/mesh.ts";

describe("relay stats", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let member: Connection;
  let caller: Connection;

  before(async () => {
    mesh = new Mesh(makeKeys("echo", "news"));
    member = await mesh.peer();
    caller = await mesh.peer();
    await member.register("echo", { request: (body) => body });
  });

  after(() => mesh.close());

  test("counts every request and reply in and out, by kind, and the requests it placed", async () => {
    const before = mesh.relay.snapshot().stats!;
    for (let i = 0; i < 10; i++) await caller.request("echo", new Uint8Array(100));
    await settle();
    const after = mesh.relay.snapshot().stats!;
    const delta = (kind: string, field: "framesIn" | "framesOut") =>
      (after.byKind[kind]?.[field] ?? 0) - (before.byKind[kind]?.[field] ?? 0);
    assert.equal(delta("Request", "framesIn"), 10, "requests from the caller");
    assert.equal(delta("Request", "framesOut"), 10, "requests to the member");
    assert.equal(delta("Reply", "framesIn"), 10);
    assert.equal(delta("Reply", "framesOut"), 10);
    assert.equal(after.requestsPlaced - before.requestsPlaced, 10);
    assert.equal(after.requestsPlacedAgain, 0);
    // A request carries the 100-byte body sealed, plus routing headers: bytes grow by more than bodies.
    const bytesIn = (after.byKind.Request?.bytesIn ?? 0) - (before.byKind.Request?.bytesIn ?? 0);
    assert.ok(bytesIn > 10 * 100, `request bytes in: ${bytesIn}`);
    assert.ok(after.framesIn >= before.framesIn + 20 && after.bytesOut > before.bytesOut);
  });

  test("reports the levels of the moment: peers, relay links, open tunnels, uptime", async () => {
    const stats = mesh.relay.snapshot().stats!;
    assert.equal(stats.peers, 2);
    assert.equal(stats.relayLinks, 0);
    assert.equal(stats.tunnelsOpen, 0);
    assert.ok(stats.uptimeMs >= 0);
  });

  test("statsReport() is the report's stats without the rest of the report", async () => {
    await caller.request("echo", "one more");
    await settle();
    const { uptimeMs: _snapshotUptime, ...fromSnapshot } = mesh.relay.snapshot().stats!;
    const { uptimeMs: _reportUptime, ...alone } = mesh.relay.statsReport();
    assert.deepEqual(alone, fromSnapshot);
    assert.equal(alone.peers, 2);
  });

  test("counts a handshake refused for a bad hello", async () => {
    const before = mesh.relay.snapshot().stats!.refused["auth-failed"] ?? 0;
    const link = await mesh.net.dialer("mem://relay-1", { maxFrame: 1 << 20 });
    const closed = new Promise<number>((resolve) =>
      link.listen({
        // A hello with a signature of zeros over the challenge: the relay refuses it.
        frame: (bytes) => {
          if (bytes[1] !== FrameType.Challenge) return;
          const signature = new Uint8Array(64);
          link.send(
            encodeFrame({ type: FrameType.Hello, identityKey: new Uint8Array(32).fill(9), signature, agent: "x" }),
          );
        },
        close: (code) => resolve(code),
      }),
    );
    assert.equal(await closed, CloseCode.AuthFailed);
    assert.equal(mesh.relay.snapshot().stats!.refused["auth-failed"], before + 1);
  });
});
