// Node WebSocket links cork their TCP socket for the rest of the turn at the first send, so a burst of
// frames leaves in one write rather than one system call each, and nothing waits past the turn.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { listenWebSocket, nodeWebSocketDialer } from "../../../core/node.ts";
import type { Link } from "../../../core/node.ts";

const BURST = 50;
const FRAME_BYTES = 1000;

async function connectedPair(): Promise<{ server: Link; tcp: Socket; client: Link; stop: () => Promise<void> }> {
  let accepted!: (value: { link: Link; tcp: Socket }) => void;
  const serverEnd = new Promise<{ link: Link; tcp: Socket }>((resolve) => (accepted = resolve));
  const listener = await listenWebSocket({
    host: "127.0.0.1",
    port: 0,
    maxFrame: 1 << 20,
    onLink: (link, request) => accepted({ link, tcp: request.socket as Socket }),
  });
  const client = await nodeWebSocketDialer(listener.url, { maxFrame: 1 << 20 });
  const { link: server, tcp } = await serverEnd;
  return {
    server,
    tcp,
    client,
    stop: async () => {
      client.close();
      server.close();
      await listener.stopAccepting();
    },
  };
}

test("a burst sent in one turn is held in the socket until the turn ends, then arrives whole and in order", async () => {
  const { server, tcp, client, stop } = await connectedPair();
  const received: number[] = [];
  let allArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  client.listen({
    frame: (bytes) => {
      received.push(bytes[0]!);
      if (received.length === BURST) allArrived();
    },
    close: () => {},
  });
  for (let i = 0; i < BURST; i++) server.send(new Uint8Array(FRAME_BYTES).fill(i));
  // Still in the same turn: every frame (plus its WebSocket header) waits in the corked socket.
  assert.ok(tcp.writableCorked > 0, "the socket is corked");
  assert.ok(tcp.writableLength >= BURST * FRAME_BYTES, `${tcp.writableLength} bytes held`);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(tcp.writableCorked, 0, "uncorked once the turn is over");
  await arrived;
  assert.deepEqual(
    received,
    Array.from({ length: BURST }, (_, i) => i),
  );
  await stop();
});

test("a lone frame from the dialing side is not held past its turn", async () => {
  const { server, client, stop } = await connectedPair();
  const got: Uint8Array[] = [];
  let first!: () => void;
  const firstArrived = new Promise<void>((resolve) => (first = resolve));
  server.listen({
    frame: (bytes) => {
      got.push(bytes);
      first();
    },
    close: () => {},
  });
  client.send(Uint8Array.of(42));
  // No further send and no timer: the frame must leave when this turn ends, or this await never ends.
  await firstArrived;
  assert.deepEqual([...got[0]!], [42]);
  await stop();
});
