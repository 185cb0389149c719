// Replays of sealed messages, by someone who recorded them (a relay sees every frame): a replay on the
// same link, from another peer's link, after the member reconnected, or re-addressed to another cluster
// never runs a handler twice. Each check ends with a fresh request along the same path, which arrives
// after the replay: once its reply is back, the replay has been dealt with.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { FrameType, decodeFrame, encodeFrame } from "../../core/wire/frames.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { frameType, startMeddlingProxy } from "../fixtures/meddling-proxy.ts";
import type { MeddlingProxy } from "../fixtures/meddling-proxy.ts";
import { rawClient } from "../fixtures/raw-client.ts";

// Two clusters under the same key material: their keys still differ, as each derives from its name.
const shared = generateKey();
const keys = { vault: shared, ledger: shared, alerts: generateKey() };
const text = new TextDecoder();

describe("replayed messages", () => {
  let relay: RelayProcess;
  let proxy: MeddlingProxy;
  let member: Connection;
  let caller: Connection;
  const handled: string[] = [];
  const memberErrors: string[] = [];
  /** Every sealed frame the "relay" (the proxy) passed to the member, by type. */
  const recorded = new Map<number, Uint8Array[]>();
  let passed: (frame: Uint8Array) => void = () => {};
  let fresh = 0;

  before(async () => {
    relay = await startRelay(["--startup-grace", "0"]);
    proxy = await startMeddlingProxy(relay.url);
    proxy.meddle((frame, direction) => {
      const type = frameType(frame);
      if (direction === "toPeer" && type !== null) {
        recorded.set(type, [...(recorded.get(type) ?? []), frame]);
        passed(frame);
      }
      return [frame];
    });
    member = await connect({ relays: [proxy.url], keys });
    caller = await connect({ relays: [relay.url], keys });
    member.on("error", (event) => void memberErrors.push(`${event.context}: ${event.error.message}`));
    for (const cluster of ["vault", "ledger"]) {
      await member.register(cluster, {
        request: (body) => {
          handled.push(`${cluster}: ${text.decode(body)}`);
          return body;
        },
      });
    }
    await member.subscribe("alerts", (body) => void handled.push(`alerts: ${text.decode(body)}`));
  });

  after(async () => {
    await caller?.close();
    await member?.close();
    await proxy?.stop();
    await relay?.stop();
  });

  /** A new request along the same path: its reply proves everything sent to the member before it was handled. */
  async function barrier(): Promise<string> {
    const label = `fresh ${++fresh}`;
    assert.equal(text.decode(await caller.request("vault", label)), label);
    return `vault: ${label}`;
  }

  /** The first recorded frame of a type, after `send` made one. */
  async function record(type: number, send: () => Promise<unknown>): Promise<Uint8Array> {
    recorded.delete(type);
    await send();
    const [frame] = recorded.get(type) ?? [];
    assert.ok(frame, `a frame of type ${type} was recorded`);
    return frame;
  }

  test("a request replayed on the same link runs once", { timeout: 30_000 }, async () => {
    const original = await record(FrameType.Request, () => caller.request("vault", "pay 10"));
    handled.length = 0;
    proxy.inject(original);
    proxy.inject(original);
    const label = await barrier();
    assert.deepEqual(handled, [label], "the replays ran no handler");
  });

  test("a request replayed by another peer, on its own link to the relay, runs once", { timeout: 30_000 }, async () => {
    const original = await record(FrameType.Request, () => caller.request("vault", "pay 20"));
    handled.length = 0;
    const attacker = await rawClient(relay.url, { hello: true });
    try {
      const replayArrived = new Promise<void>((resolve) => {
        passed = (frame) =>
          frame.length > 16 && Buffer.from(frame).includes(Buffer.from(decodeSealed(original))) && resolve();
      });
      // The relay only forwards what a peer sends in its own name, so the attacker signs it as its own.
      const request = decodeFrame(original);
      if (request.type !== FrameType.Request) throw new Error("recorded a request");
      attacker.send(encodeFrame({ ...request, origin: attacker.peerId }));
      await replayArrived;
      passed = () => {};
      const label = await barrier();
      assert.deepEqual(handled, [label], "the replay ran no handler");
    } finally {
      attacker.socket.close();
    }
  });

  test("a request and a publication replayed after the member reconnected run once", { timeout: 30_000 }, async () => {
    const request = await record(FrameType.Request, () => caller.request("vault", "pay 30"));
    const published = new Promise<void>(
      (resolve) => (passed = (frame) => frameType(frame) === FrameType.Publish && resolve()),
    );
    recorded.delete(FrameType.Publish);
    await caller.publish("alerts", "market opens");
    await published;
    const publication = recorded.get(FrameType.Publish)![0]!;
    passed = () => {};
    await barrier();

    const reconnected = new Promise<void>((resolve) => member.once("reconnect", () => resolve()));
    proxy.cutPeers();
    await reconnected;
    handled.length = 0;
    proxy.inject(request);
    proxy.inject(publication);
    const label = await barrier();
    assert.deepEqual(handled, [label], "neither replay ran a handler");
  });

  test("a request re-addressed to another cluster under the same key material is refused", {
    timeout: 30_000,
  }, async () => {
    const original = decodeFrame(await record(FrameType.Request, () => caller.request("vault", "pay 40")));
    assert.equal(original.type, FrameType.Request);
    if (original.type !== FrameType.Request) return;
    const ledgerId = member.keyring.get("cluster", "ledger").id;
    handled.length = 0;
    const errorsBefore = memberErrors.length;
    proxy.inject(encodeFrame({ ...original, id: ledgerId }));
    const label = await barrier();
    assert.deepEqual(handled, [label], "the ledger handler did not run");
    const refusals = memberErrors.slice(errorsBefore);
    assert.equal(refusals.length, 1, `one refusal reported: ${refusals.join("; ")}`);
    assert.match(refusals[0]!, /"ledger".*does not authenticate/);
  });
});

/** The sealed part of a recorded frame, to recognise the frame after the relay re-addressed it. */
function decodeSealed(bytes: Uint8Array): Uint8Array {
  const frame = decodeFrame(bytes);
  if (!("sealed" in frame)) throw new Error("no sealed part");
  return frame.sealed;
}
