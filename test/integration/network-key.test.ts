// A closed backbone: relays started with a network key admit only relays and peers that prove it, and
// every hop is sealed, so not even routing headers cross the wire in the clear.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, generateKey, DeniedError } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { waitForStatus } from "../fixtures/network.ts";

const networkKey = generateKey();
const keys = { db: generateKey() };

describe("relays with a network key", { timeout: 60_000 }, () => {
  let dir: string;
  let first: RelayProcess;
  let second: RelayProcess;
  let member: Connection;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "iris-netkey-"));
    first = await startRelay([
      "--network-key",
      networkKey,
      "--handshake-timeout",
      "1000",
      "--tap",
      join(dir, "frames.bin"),
    ]);
    second = await startRelay(["--network-key", networkKey, "--seed", first.url]);
    await waitForStatus([first, second], (all) => all.every((s) => s.links.length === 1));
    member = await connect({ relays: [second.url], keys, networkKey });
    await member.register("db", { request: (body) => `sealed hop: ${new TextDecoder().decode(body)}` });
  });

  after(async () => {
    await member?.close();
    await Promise.all([first?.stop(), second?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  test("relays link and peers holding the key work across them", async () => {
    const caller = await connect({ relays: [first.url], keys, networkKey });
    try {
      assert.equal(new TextDecoder().decode(await caller.request("db", "hello")), "sealed hop: hello");
    } finally {
      await caller.close();
    }
  });

  test("a peer with another key is refused at once", async () => {
    const started = performance.now();
    await assert.rejects(
      connect({ relays: [first.url], keys, networkKey: generateKey(), connectTimeout: 5000 }),
      DeniedError,
    );
    assert.ok(performance.now() - started < 2000);
  });

  test("a peer without a key is refused within the handshake timeout", async () => {
    await assert.rejects(connect({ relays: [first.url], keys, connectTimeout: 3000 }), /could not attach/);
    await first.waitForLine(/network-key-refused .*no network-key handshake in time/);
  });

  test("garbage as the first message is refused at once", async () => {
    const { WebSocket } = await import("ws");
    const socket = new WebSocket(first.url);
    await new Promise((resolve) => socket.once("open", resolve));
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    const started = performance.now();
    socket.send(Buffer.from("no key, just noise"));
    assert.equal(await closed, 4002);
    assert.ok(performance.now() - started < 500, "no waiting: the first message is judged on a MAC");
  });

  test("nothing on the wire is readable: not even peer ids appear in what the relay receives", async () => {
    const caller = await connect({ relays: [first.url], keys, networkKey });
    await caller.request("db", "once more");
    const ids = [caller.peerId, member.peerId].map((hex) => Buffer.from(hex, "hex"));
    await caller.close();
    const file = await readFile(join(dir, "frames.bin"));
    assert.ok(file.length > 1000, "the tap recorded the traffic");
    assert.ok(!ids.some((id) => file.includes(id)), "no peer id in the clear");
    assert.ok(!file.includes(Buffer.from("once more")));
  });

  test("an unkeyed client never even sees the relay's challenge, and is closed at the handshake timeout", async () => {
    const { WebSocket } = await import("ws");
    const socket = new WebSocket(first.url);
    let messages = 0;
    socket.on("message", () => messages++);
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    assert.equal(await closed, 4003);
    assert.equal(messages, 0, "the relay said nothing before the key was proven");
  });
});
