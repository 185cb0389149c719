// The peer's side of the handshake (RelayAttachment) under attack from a fake relay. The fake relay
// sends a random sequence: challenges, welcomes (for our peer id or another, with any heartbeat and
// limits), every other frame type, mutated frames, noise, its own close, and time passes in between.
//
// After every sequence: nothing was thrown out of the attachment's link handlers or timers; no timer
// runs away (a hostile heartbeat interval must not make the peer spin); every link it dialed ended
// either attached (after a challenge, and a welcome naming our own peer id) or closed with a known
// close code, and was reported detached exactly once; frames reached the connection only once attached.

import assert from "node:assert/strict";
import fc from "fast-check";
import { RelayAttachment } from "../../../core/peer/relay-attachment.ts";
import type { Attached, Detached } from "../../../core/peer/relay-attachment.ts";
import { memoryLinkPair } from "../../../core/transports/memory.ts";
import { CloseCode } from "../../../core/transports/link.ts";
import type { Dialer } from "../../../core/transports/link.ts";
import { generateIdentity, peerIdOf } from "../../../core/crypto/keys.ts";
import { FrameType, RELAY_ID_BYTES, decodeFrame, encodeFrame } from "../../../core/wire/frames.ts";
import { equalBytes } from "../../../core/util/bytes.ts";
import type { Frame } from "../../../core/wire/frames.ts";
import { fcParams, fuzzTests, describeError } from "../../fuzz/harness.ts";
import type { FuzzProperty } from "../../fuzz/harness.ts";
import { anyFrame, bytes, mutate, mutations, varint } from "../../fuzz/frame-arbitraries.ts";
import type { Mutation } from "../../fuzz/frame-arbitraries.ts";
import { GuardedLink, WireEnd, settle } from "../../fixtures/raw-peers.ts";
import { VirtualClock } from "../../fixtures/virtual-clock.ts";
import { seededRandom } from "../../fixtures/mesh.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

const identity = generateIdentity(testCrypto.signing);
const ourPeerId = peerIdOf(identity.publicKey);
const KNOWN_CODES = new Set<number>([...Object.values(CloseCode), 1006]);
const HANDSHAKE_TIMEOUT_MS = 2000;

/** A virtual clock that fails, rather than hangs, when timers keep firing without time passing. */
class GuardedClock extends VirtualClock {
  private fired = 0;
  override setTimeout(callback: () => void, ms: number) {
    return super.setTimeout(() => {
      if (++this.fired > 10_000)
        throw new Error(`runaway timer: more than 10,000 timers fired within one advance (interval ${ms} ms)`);
      callback();
    }, ms);
  }
  override advanceSync(ms: number): void {
    this.fired = 0;
    super.advanceSync(ms);
  }
}

type Action =
  | { t: "challenge"; relayId: Uint8Array; nonce: Uint8Array }
  | { t: "welcome"; ours: boolean; relayTime: number; heartbeatMs: number; maxMessage: number }
  | { t: "frame"; frame: Frame }
  | { t: "mutated"; frame: Frame; edits: Mutation[] }
  | { t: "noise"; bytes: Uint8Array }
  | { t: "advance"; ms: number }
  | { t: "ping" }
  | { t: "close"; code: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant("challenge" as const), relayId: bytes(RELAY_ID_BYTES), nonce: bytes(32) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("welcome" as const),
      ours: fc.boolean(),
      relayTime: varint,
      heartbeatMs: fc.oneof(fc.constantFrom(0, 1, 10, 1000, 2 ** 31, Number.MAX_SAFE_INTEGER), varint),
      maxMessage: varint,
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("frame" as const), frame: anyFrame }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("mutated" as const), frame: anyFrame, edits: mutations }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("noise" as const), bytes: fc.uint8Array({ maxLength: 64 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("ping" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("close" as const), code: fc.constantFrom(1000, 1001, 4004, 4005, 4999) }),
  },
);

interface Dialed {
  fake: WireEnd;
  guarded: GuardedLink;
  /** The fake relay closed it (with a code of its choosing, not checked). */
  closedByFake: boolean;
  dialedAt: number;
}

async function checkSequence(actions: Action[]): Promise<void> {
  const clock = new GuardedClock();
  const dialed: Dialed[] = [];
  // Every dial reaches the fake relay; only the first link is driven, later ones stay silent.
  const dialer: Dialer = async () => {
    const [peerEnd, relayEnd] = memoryLinkPair("peer", "fake-relay");
    const guarded = new GuardedLink(peerEnd);
    dialed.push({ fake: new WireEnd(relayEnd), guarded, closedByFake: false, dialedAt: clock.now() });
    return guarded;
  };
  const attached: Attached[] = [];
  const detached: Detached[] = [];
  const frames: Frame[] = [];
  const attachment = new RelayAttachment(
    {
      relays: ["mem://fake"],
      signing: testCrypto.signing,
      dialer,
      clock,
      identity,
      agent: "fuzz",
      maxFrame: 4096,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      initialDelayMs: 100,
      maxDelayMs: 1000,
      random: seededRandom(3),
      // An open backbone: the network-key handshake (transports/secure-link.ts) is not fuzzed here.
      networkKeys: null,
    },
    {
      attached: (a) => void attached.push(a),
      detached: (d) => void detached.push(d),
      dropped: () => {},
      frame: (frame) => {
        assert.equal(detached.length, attached.length - 1, "a frame reached the connection while not attached");
        frames.push(frame);
      },
    },
  );
  const advance = async (ms: number) => {
    for (let left = ms; left > 0; left -= 250) {
      clock.advanceSync(Math.min(250, left));
      await settle();
    }
  };
  try {
    attachment.start();
    await settle();
    const driven = dialed[0]!;
    const sent: Uint8Array[] = [];
    for (const a of actions) {
      const send = (bytes: Uint8Array) => {
        if (driven.fake.open) sent.push(bytes);
        driven.fake.send(bytes);
      };
      switch (a.t) {
        case "challenge":
          send(encodeFrame({ type: FrameType.Challenge, relayId: a.relayId, nonce: a.nonce }));
          break;
        case "welcome":
          send(
            encodeFrame({
              type: FrameType.Welcome,
              peerId: a.ours ? ourPeerId : new Uint8Array(16).fill(1),
              relayTime: a.relayTime,
              heartbeatMs: a.heartbeatMs,
              maxMessage: a.maxMessage,
            }),
          );
          break;
        case "frame":
          send(encodeFrame(a.frame));
          break;
        case "mutated":
          send(mutate(encodeFrame(a.frame), a.edits));
          break;
        case "noise":
          send(a.bytes);
          break;
        case "advance":
          await advance(a.ms);
          break;
        case "ping":
          send(encodeFrame({ type: FrameType.Ping, stamp: 1 }));
          break;
        case "close":
          if (driven.fake.open) driven.closedByFake = true;
          driven.fake.link.close(a.code, "fake relay closes");
          break;
      }
      await settle();
    }
    // Long enough for every handshake to time out and a silent attached link to be given up.
    await advance(8000);
    // Each link is closed by now, or attached, or a redial still within its handshake timeout.
    for (const [i, link] of dialed.entries()) {
      if (!link.fake.open) continue;
      const isAttached = attached.some((a) => a.link === link.guarded);
      const inHandshake = clock.now() - link.dialedAt < HANDSHAKE_TIMEOUT_MS;
      assert.ok(
        attachment.link === link.guarded && (isAttached || inHandshake),
        `link ${i} is open, neither attached nor in its handshake`,
      );
    }
    attachment.stop();
    await settle();

    for (const [i, link] of dialed.entries()) {
      assert.deepEqual(link.guarded.thrown.map(describeError), [], `link ${i}: the attachment threw out of a handler`);
      // Stopped: every link is closed now, by the peer (known codes) unless the fake relay closed it first.
      assert.ok(link.fake.closeInfo, `link ${i} is still open after stop()`);
      if (!link.closedByFake)
        assert.ok(KNOWN_CODES.has(link.fake.closeInfo.code), `link ${i} closed with ${link.fake.closeInfo.code}`);
    }
    assert.equal(detached.length, dialed.length, "every dialed link is reported detached exactly once");
    for (const a of attached)
      assert.ok(equalBytes(a.welcome.peerId, ourPeerId), "attached on a welcome for another peer id");
    // Attached on the driven link only if what it said first was a challenge, then a welcome for us.
    if (attached.some((a) => a.link === driven.guarded)) {
      const [challenge, welcome] = sent.slice(0, 2).map((bytes) => decodeFrame(bytes));
      assert.equal(challenge?.type, FrameType.Challenge, "attached without a challenge first");
      assert.ok(
        welcome?.type === FrameType.Welcome && equalBytes(welcome.peerId, ourPeerId),
        "attached without a welcome for us next",
      );
    }
  } finally {
    attachment.stop();
  }
}

const properties: FuzzProperty[] = [
  {
    name: "random frame sequences from a fake relay: no throw, no runaway timer, attached properly or closed with a known code",
    runs: 1_500,
    check: (params) =>
      fc.assert(fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), checkSequence), fcParams(params)),
  },
  {
    name: "a proper challenge and welcome, then anything: same guarantees",
    runs: 1_000,
    check: (params) =>
      fc.assert(
        fc.asyncProperty(
          bytes(32),
          fc.oneof(fc.constantFrom(0, 1, 1000, 2 ** 31), varint),
          fc.array(action, { maxLength: 12 }),
          (nonce, heartbeatMs, rest) =>
            checkSequence([
              { t: "challenge", relayId: new Uint8Array(16).fill(4), nonce },
              { t: "welcome", ours: true, relayTime: 1, heartbeatMs, maxMessage: 1 << 20 },
              ...rest,
            ]),
        ),
        fcParams(params),
      ),
  },
];

fuzzTests("peer attachment", properties);
