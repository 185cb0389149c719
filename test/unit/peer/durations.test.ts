// Every call that takes a duration checks it by the one rule (core/util/duration.ts) before it does
// anything: the same values fail the same way everywhere, with an error naming the call and option.
// These are the cases issue 13 found: 2^31 ms failing after 1 ms, Infinity failing in the encoder,
// NaN failing at once, -1 and 0 treated differently, subscribe ignoring bad values.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MAX_DURATION } from "../../../core/internal.ts";
import type { Connection, PeerConnectionFactory } from "../../../core/internal.ts";
import { Mesh, RELAY_ADDRESS, TEST_TIMEOUT, decode, makeKeys } from "../../fixtures/mesh.ts";

/** Never called: the options are refused before any direct link is tried. */
const noPeerConnections: PeerConnectionFactory = () => {
  throw new Error("no direct links in this test");
};

const BAD: Array<[unknown, ErrorConstructor]> = [
  [-1, RangeError],
  [0, RangeError],
  [Number.NaN, RangeError],
  [2 ** 31, RangeError],
  [Number.NEGATIVE_INFINITY, RangeError],
  ["1000", TypeError],
];

/** `call` with each bad value must reject at once with the right class and a message naming `option`. */
async function refusesBadValues(option: string, call: (value: number) => Promise<unknown>): Promise<void> {
  for (const [value, kind] of BAD) {
    await assert.rejects(
      call(value as number),
      (error: unknown) =>
        error instanceof kind && error.message.includes(option) && /greater than 0/.test(error.message),
      `${option} = ${String(value)}`,
    );
  }
}

describe("durations, checked by one rule at every call", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let member: Connection;
  let caller: Connection;

  before(async () => {
    mesh = new Mesh(makeKeys("svc", "news"));
    member = await mesh.peer();
    await member.register("svc", {
      request: (body) => `echo ${decode(body)}`,
      tunnel: async (tunnel) => {
        for await (const chunk of tunnel) await tunnel.send(chunk);
      },
    });
    caller = await mesh.peer();
  });

  after(() => mesh.close());

  test("request", async () => {
    await refusesBadValues("request: `timeout`", (timeout) => caller.request("svc", "x", { timeout }));
    assert.equal(caller.pendingRequests, 0, "nothing was sent");
  });

  test("a request with the longest timeout, or Infinity, is answered instead of failing at once", async () => {
    assert.equal(decode(await caller.request("svc", "long", { timeout: MAX_DURATION })), "echo long");
    assert.equal(decode(await caller.request("svc", "inf", { timeout: Number.POSITIVE_INFINITY })), "echo inf");
  });

  test("broadcast and publish", async () => {
    await refusesBadValues("broadcast: `timeout`", (timeout) => caller.broadcast("svc", "x", { timeout }));
    await refusesBadValues("publish: `timeout`", (timeout) => caller.publish("news", "x", { timeout }));
    await caller.publish("news", "x", { timeout: Number.POSITIVE_INFINITY });
  });

  test("subscribe and register", async () => {
    await refusesBadValues("subscribe: `timeout`", (timeout) => caller.subscribe("news", () => {}, { timeout }));
    await refusesBadValues("register: `timeout`", (timeout) => caller.register("svc", {}, { timeout }));
    // Nothing stayed half-joined: both work with a good value afterwards.
    const sub = await caller.subscribe("news", () => {}, { timeout: Number.POSITIVE_INFINITY });
    const registration = await caller.register("svc", {}, { timeout: 5000 });
    await sub.unsubscribe();
    await registration.unregister();
  });

  test("tunnel: -1 and 0 fail alike, and a valid timeout opens", async () => {
    await refusesBadValues("tunnel: `timeout`", (timeout) => caller.tunnel("svc", { timeout }));
    const tunnel = await caller.tunnel("svc", { timeout: Number.POSITIVE_INFINITY });
    await tunnel.send("ping");
    for await (const chunk of tunnel) {
      assert.equal(decode(chunk), "ping");
      break;
    }
    await tunnel.close();
  });

  test("inspect", async () => {
    await refusesBadValues("inspect: `timeout`", (timeout) => caller.inspect(undefined, { timeout }));
    assert.ok((await caller.inspect(undefined, { timeout: 5000 })).relayId);
  });

  test("connect: connectTimeout, handshakeTimeout, reconnect delays and tunnel timeouts", async () => {
    const options: Array<[string, (value: number) => Record<string, unknown>]> = [
      ["connect: `connectTimeout`", (value) => ({ connectTimeout: value })],
      ["connect: `handshakeTimeout`", (value) => ({ handshakeTimeout: value })],
      ["connect: `reconnect.initialDelay`", (value) => ({ reconnect: { initialDelay: value } })],
      ["connect: `reconnect.maxDelay`", (value) => ({ reconnect: { maxDelay: value } })],
      ["connect: `tunnels.closeTimeout`", (value) => ({ tunnels: { closeTimeout: value } })],
      ["connect: `tunnels.gapTimeout`", (value) => ({ tunnels: { gapTimeout: value } })],
      [
        "connect: `webrtc.connectTimeout`",
        (value) => ({ webrtc: { peerConnection: noPeerConnections, connectTimeout: value } }),
      ],
      [
        "connect: `webrtc.heartbeatInterval`",
        (value) => ({ webrtc: { peerConnection: noPeerConnections, heartbeatInterval: value } }),
      ],
    ];
    for (const [option, make] of options) {
      await refusesBadValues(option, async (value) => mesh.peer(make(value)));
    }
    const patient = await mesh.peer({
      connectTimeout: Number.POSITIVE_INFINITY,
      reconnect: { initialDelay: 1, maxDelay: Number.POSITIVE_INFINITY },
    });
    assert.equal(patient.relay, RELAY_ADDRESS);
  });
});
