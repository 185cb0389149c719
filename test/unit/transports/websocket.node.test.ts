// Node WebSocket links: frames sent in one turn leave as one WebSocket message (a bundle), nothing waits
// past its turn, a paused link stops reading so the sender's buffer backs up, and `drain` tells the
// sender when its buffer has emptied again.

import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import type { Link } from "../../../core/internal.node.ts";
import { listenWebSocket, nodeWebSocketDialer } from "../../../core/internal.node.ts";

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

/** A frame of `size` bytes starting with the wire version (1) and carrying `mark` in its second byte. */
function frame(mark: number, size = FRAME_BYTES): Uint8Array {
  const bytes = new Uint8Array(size).fill(mark & 0xff);
  bytes[0] = 1;
  bytes[1] = mark & 0xff;
  return bytes;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test("a burst sent in one turn waits for the turn to end, leaves in one write, and arrives whole and in order", async () => {
  const { server, tcp, client, stop } = await connectedPair();
  const received: number[] = [];
  let allArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  client.listen({
    frame: (bytes) => {
      received.push(bytes[1]!);
      if (received.length === BURST) allArrived();
    },
    close: () => {},
  });
  const writtenBefore = tcp.bytesWritten;
  for (let i = 0; i < BURST; i++) server.send(frame(i));
  // Still in the same turn: nothing has reached the socket, and the link counts what it holds.
  assert.equal(tcp.bytesWritten, writtenBefore, "nothing written within the turn");
  assert.ok(server.bufferedAmount >= BURST * FRAME_BYTES, `${server.bufferedAmount} bytes buffered`);
  await nextTurn();
  // One WebSocket message: the bundle marker, a 2-byte length before each frame, one frame header.
  const written = tcp.bytesWritten - writtenBefore;
  assert.ok(written <= 1 + BURST * (FRAME_BYTES + 2) + 10, `${written} bytes written for the burst`);
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
  client.send(Uint8Array.of(1, 42));
  // No further send and no timer: the frame must leave when this turn ends, or this await never ends.
  await firstArrived;
  assert.deepEqual([...got[0]!], [1, 42]);
  await stop();
});

test("a paused link delivers nothing and stops reading, so the sender's buffer backs up; resumed, all arrive and the sender drains", async () => {
  const { server, client, stop } = await connectedPair();
  const received: number[] = [];
  const total = 400;
  const size = 60_000;
  let allArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  let drained!: () => void;
  const drainedOnce = new Promise<void>((resolve) => (drained = resolve));
  client.listen({
    frame: (bytes) => {
      received.push(bytes[1]!);
      if (received.length === total) allArrived();
    },
    close: () => {},
  });
  server.listen({ frame: () => {}, close: () => {}, drain: () => drained() });
  client.pause();
  assert.equal(client.paused, true);
  // 24 MB, more than loopback's socket buffers hold: once they are full, the rest stays with the sender.
  for (let i = 0; i < total; i++) {
    server.send(frame(i, size));
    if (i % 20 === 19) await nextTurn();
  }
  for (let i = 0; i < 20; i++) await nextTurn();
  assert.equal(received.length, 0, "nothing delivered while paused");
  assert.ok(server.bufferedAmount > 4 * 1024 * 1024, `the sender holds ${server.bufferedAmount} bytes`);
  client.resume();
  await arrived;
  await drainedOnce;
  assert.equal(server.bufferedAmount, 0);
  assert.deepEqual(
    received,
    Array.from({ length: total }, (_, i) => i & 0xff),
  );
  await stop();
});

/** Resolves with the first close the link reports. */
function closeOf(
  link: Link,
  onFrame: (bytes: Uint8Array) => void = () => {},
): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => link.listen({ frame: onFrame, close: (code, reason) => resolve({ code, reason }) }));
}

test("a cut with nothing queued frees the socket without waiting for a closing handshake, and brings its code and reason", async () => {
  const { server, tcp, client, stop } = await connectedPair();
  server.listen({ frame: () => {}, close: () => {} });
  const closed = closeOf(client);
  // The other end reads nothing, so it cannot answer a closing handshake (`ws` would wait 30 s for one).
  client.pause();
  const socketGone = new Promise<void>((resolve) => tcp.once("close", () => resolve()));
  const started = performance.now();
  server.close(4008, "too many links from this address");
  await socketGone;
  assert.ok(performance.now() - started < 2000, "the socket closed without a closing handshake");
  client.resume();
  assert.deepEqual(await closed, { code: 4008, reason: "too many links from this address" });
  await stop();
});

test("a cut with data queued resets the connection: the other end learns at once, not after reading the backlog", async () => {
  const { server, client, stop } = await connectedPair();
  server.listen({ frame: () => {}, close: () => {} });
  let afterResume = 0;
  let resumed = false;
  const closed = closeOf(client, () => {
    if (resumed) afterResume++;
  });
  client.pause();
  const size = 60_000;
  // 24 MB queued toward a reader that stopped reading.
  for (let i = 0; i < 400; i++) {
    server.send(frame(i, size));
    if (i % 20 === 19) await nextTurn();
  }
  for (let i = 0; i < 10; i++) await nextTurn();
  const queued = server.bufferedAmount;
  assert.ok(queued > 8 * 1024 * 1024, `${queued} bytes queued`);
  server.close(4005, "slow consumer");
  resumed = true;
  client.resume();
  const { code } = await closed;
  assert.equal(code, 1006, "a reset, not a close frame behind the backlog");
  // What the reader still got is what had already crossed into its socket buffers, not the backlog.
  assert.ok(afterResume * size < queued / 2, `the reader got ${afterResume} frames of ${size} bytes after resuming`);
  await stop();
});

test("a close in good order lets everything queued go first", async () => {
  const { server, client, stop } = await connectedPair();
  server.listen({ frame: () => {}, close: () => {} });
  let got = 0;
  const closed = closeOf(client, () => got++);
  for (let i = 0; i < 100; i++) server.send(frame(i, 50_000));
  server.close(1000, "done");
  assert.deepEqual(await closed, { code: 1000, reason: "done" });
  assert.equal(got, 100);
  await stop();
});

test("a Node client's frames carry the mask bit with an all-zero key, so its bytes go out as they are, and the server reads them", async () => {
  const { server, tcp, client, stop } = await connectedPair();
  const raw: Buffer[] = [];
  tcp.on("data", (chunk: Buffer) => raw.push(chunk));
  let got!: (bytes: Uint8Array) => void;
  const arrived = new Promise<Uint8Array>((resolve) => (got = resolve));
  server.listen({ frame: (bytes) => got(Uint8Array.from(bytes)), close: () => {} });
  try {
    const sent = frame(7, 300);
    client.send(sent);
    assert.deepEqual(await arrived, sent);
    const wire = Buffer.concat(raw);
    // 300 bytes: a 16-bit length follows the second byte, then the 4-byte key, then the payload.
    assert.equal(wire[1]! & 0x80, 0x80, "client frames are masked, as RFC 6455 requires");
    assert.equal(wire[1]! & 0x7f, 126);
    assert.equal(wire.readUInt16BE(2), sent.length);
    assert.deepEqual([...wire.subarray(4, 8)], [0, 0, 0, 0]);
    assert.deepEqual(new Uint8Array(wire.subarray(8, 8 + sent.length)), sent);
  } finally {
    await stop();
  }
});
