// How a relay process treats peers that do not play by the rules: each gets a clear reason, and
// nobody else is disturbed.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey, DeniedError } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { CloseCode, connect as connectWith, nodeWebSocketDialer } from "../../core/internal.node.ts";
import { FrameType, encodeFrame } from "../../core/wire/frames.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { rawClient } from "../fixtures/raw-client.ts";

const keys = { echo: generateKey(), a: generateKey(), b: generateKey(), c: generateKey() };

describe("relay protocol enforcement", () => {
  let relay: RelayProcess;
  let member: Connection;
  let caller: Connection;

  before(async () => {
    relay = await startRelay([
      "--max-message",
      "65536",
      "--handshake-timeout",
      "300",
      "--max-joins-per-peer",
      "3",
      "--max-tunnels-per-peer",
      "1",
    ]);
    member = await connect({ relays: [relay.url], keys });
    await member.register("echo", { request: (body) => body });
    caller = await connect({ relays: [relay.url], keys });
  });

  after(async () => {
    await caller?.close();
    await member?.close();
    await relay?.stop();
  });

  /** After each misbehaving client, an honest peer's request still works. */
  async function honestPeerUnaffected(): Promise<void> {
    assert.equal(new TextDecoder().decode(await caller.request("echo", "still fine")), "still fine");
  }

  test("a hello in another protocol version is denied with a reason", async () => {
    const client = await rawClient(relay.url);
    const hello = encodeFrame({
      type: FrameType.Hello,
      identityKey: new Uint8Array(32),
      signature: new Uint8Array(64),
      agent: "future",
    });
    hello[0] = 2;
    client.send(hello);
    const { code, reason } = await client.closed;
    assert.equal(code, CloseCode.Version);
    assert.match(reason, /version/);
    await relay.waitForLine(/peer-error .*code=4001/);
    await honestPeerUnaffected();
  });

  test("a hello that does not prove its identity is refused", async () => {
    const client = await rawClient(relay.url);
    client.send(
      encodeFrame({
        type: FrameType.Hello,
        identityKey: new Uint8Array(32).fill(7),
        signature: new Uint8Array(64),
        agent: "liar",
      }),
    );
    const { code, reason } = await client.closed;
    assert.equal(code, CloseCode.AuthFailed);
    assert.match(reason, /signature/);
    await honestPeerUnaffected();
  });

  test("garbage instead of a frame closes that link with a protocol error", async () => {
    const client = await rawClient(relay.url, { hello: true });
    client.send(Uint8Array.of(1, 0xee, 1, 2, 3));
    const { code, reason } = await client.closed;
    assert.equal(code, CloseCode.Protocol);
    assert.match(reason, /unknown-type/);
    await honestPeerUnaffected();
  });

  test("a frame over the size limit is refused by the socket with close code 1009", async () => {
    const client = await rawClient(relay.url, { hello: true });
    client.send(new Uint8Array(65536 + 64 * 1024 + 4096));
    const { code } = await client.closed;
    assert.equal(code, CloseCode.TooBig);
    await honestPeerUnaffected();
  });

  test("a link that never says hello is closed at the handshake timeout", async () => {
    const client = await rawClient(relay.url);
    const { code } = await client.closed;
    assert.equal(code, CloseCode.HandshakeTimeout);
  });

  test("the peer API refuses a body over the relay's limit before sending it", async () => {
    // The relay announced 64 KiB in its welcome; the peer's own default is 1 MiB.
    await assert.rejects(caller.request("echo", new Uint8Array(65537)), { name: "TooLargeError" });
    await honestPeerUnaffected();
  });

  test("connect() reports a relay's refusal at once as DeniedError", async () => {
    const started = performance.now();
    await assert.rejects(
      connectWith({
        dialer: nodeWebSocketDialer,
        relays: [relay.url],
        keys,
        identity: { publicKey: new Uint8Array(32), secretKey: new Uint8Array(64) },
      }),
      (error: unknown) => error instanceof DeniedError && /refused/.test(error.message),
    );
    assert.ok(performance.now() - started < 2000, "not after the connect timeout");
  });

  test("joins and tunnels past the limits set by flag are refused with a reason; the peer keeps the rest", async () => {
    const holder = await connect({ relays: [relay.url], keys });
    const peer = await connect({ relays: [relay.url], keys });
    try {
      await holder.register("a", { tunnel: () => {} }); // accepts tunnels and leaves them open
      await peer.subscribe("a", () => {});
      await peer.subscribe("b", () => {});
      await peer.register("c", {});
      await assert.rejects(
        peer.subscribe("echo", () => {}),
        (error: Error) => error instanceof DeniedError && /at most 3 joins per peer/.test(error.message),
      );
      const open = await peer.tunnel("a");
      await assert.rejects(peer.tunnel("a"), /at most 1 tunnels per peer/);
      await open.send("the first tunnel still works");
    } finally {
      await peer.close();
      await holder.close();
    }
    await honestPeerUnaffected();
  });
});
