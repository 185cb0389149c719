// The relay's handshake state machine under attack (Relay.accept over in-memory links). A hostile client
// sends a random sequence of frames, valid and invalid, in any order: hellos signed properly, forged or
// over another challenge, joins with good and bad proofs, every frame type with its origin and service
// fields pointing at itself, at honest peers or nowhere, mutated frames, noise, oversized frames, its
// own close, and time passing. Meanwhile an honest caller keeps sending requests to an honest member.
//
// After every sequence: nothing was thrown out of the relay; the hostile link ended either handshaken or
// closed with a known close code (a link that never proved itself always closed, with a handshake
// failure's code); every honest request was answered with its own echo; and once the hostile link is
// gone, the relay holds nothing of it: no peer, no join, no pending request, no tunnel, no relay link,
// and its address's handshake and link slots are free again.

import assert from "node:assert/strict";
import fc from "fast-check";
import { Relay } from "../../../core/relay/relay.ts";
import { CloseCode } from "../../../core/transports/link.ts";
import { deriveServiceKeys, generateIdentity, signHello, signJoin } from "../../../core/crypto/keys.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { FrameType, ID_BYTES, JoinKind, MAX_HOPS, PEER_ID_BYTES, encodeFrame } from "../../../core/wire/frames.ts";
import type { Frame } from "../../../core/wire/frames.ts";
import { fcParams, fuzzTests, describeError } from "../../fuzz/harness.ts";
import type { FuzzProperty } from "../../fuzz/harness.ts";
import { anyFrame, bytes, mutate, mutations } from "../../fuzz/frame-arbitraries.ts";
import type { Mutation } from "../../fuzz/frame-arbitraries.ts";
import { HonestPeer, attach, settle } from "../../fixtures/raw-peers.ts";
import type { WireEnd } from "../../fixtures/raw-peers.ts";
import { VirtualClock } from "../../fixtures/virtual-clock.ts";
import { seededRandom } from "../../fixtures/mesh.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

// Node's Ed25519, as relays use in production: tweetnacl's would make each case several times slower.

const MAX_MESSAGE = 2048;
const HOSTILE_ADDRESS = "198.51.100.7";
const KNOWN_CODES = new Set<number>(Object.values(CloseCode));
/** How a link that never completed its handshake may end. */
const HANDSHAKE_FAILURES = new Set<number>([
  CloseCode.Protocol,
  CloseCode.Version,
  CloseCode.AuthFailed,
  CloseCode.HandshakeTimeout,
  CloseCode.TooBig,
]);

const honestCluster = deriveServiceKeys(testCrypto.signing, "cluster", "honest-service", new Uint8Array(32).fill(1));
/** Services the attacker holds keys for (never the honest cluster's: a key holder is a member by right). */
const hostileServices = [
  deriveServiceKeys(testCrypto.signing, "cluster", "hostile-cluster", new Uint8Array(32).fill(2)),
  deriveServiceKeys(testCrypto.signing, "topic", "hostile-topic", new Uint8Array(32).fill(3)),
];
const identities = {
  member: generateIdentity(testCrypto.signing),
  caller: generateIdentity(testCrypto.signing),
  hostile: generateIdentity(testCrypto.signing),
};

type Proof = "valid" | "forged" | "stale";
type Ref = "self" | "member" | "caller" | "random";
type Action =
  | { t: "hello"; agent: string; proof: Proof }
  | { t: "join"; service: number; proof: Proof; corr: number }
  | { t: "frame"; frame: Frame; origin: Ref; id: "honest" | "hostile" | "random" }
  | { t: "mutated"; frame: Frame; edits: Mutation[] }
  | { t: "noise"; bytes: Uint8Array }
  | { t: "oversized"; extra: number }
  | { t: "advance"; ms: number }
  | { t: "pong" }
  | { t: "honest-request" }
  | { t: "close"; code: number };

const proof = fc.constantFrom<Proof>("valid", "valid", "forged", "stale");
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("hello" as const),
      agent: fc.constantFrom("peer", "relay", "", "x".repeat(200)),
      proof,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("join" as const),
      service: fc.nat({ max: 1 }),
      proof,
      corr: fc.nat({ max: 5 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("frame" as const),
      frame: anyFrame,
      origin: fc.constantFrom<Ref>("self", "self", "member", "caller", "random"),
      id: fc.constantFrom("honest" as const, "hostile" as const, "random" as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("mutated" as const), frame: anyFrame, edits: mutations }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("noise" as const), bytes: fc.uint8Array({ maxLength: 64 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("oversized" as const), extra: fc.integer({ min: 1, max: 5000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 2500 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("pong" as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("honest-request" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("close" as const), code: fc.constantFrom(1000, 1001, 4000, 4999) }),
  },
);

interface World {
  relay: Relay;
  clock: VirtualClock;
  member: HonestPeer;
  caller: HonestPeer;
  hostile: WireEnd;
  closedByHostile: boolean;
  thrown: () => unknown[];
}

async function world(): Promise<World> {
  const clock = new VirtualClock(1_700_000_000_000);
  const relay = new Relay({
    crypto: testCrypto,
    clock,
    random: seededRandom(5),
    startupGraceMs: 0,
    maxMessage: MAX_MESSAGE,
    // Small caps, so sequences reach them.
    maxJoinsPerPeer: 2,
    maxTunnelsPerPeer: 2,
    maxHandshakesPerAddress: 1,
    maxLinksPerAddress: 1,
  });
  const member = await HonestPeer.join(relay, identities.member, honestCluster);
  const caller = await HonestPeer.join(relay, identities.caller);
  const { end: hostile, guarded } = attach(relay, HOSTILE_ADDRESS);
  await settle();
  const thrown = () => [...member.guarded.thrown, ...caller.guarded.thrown, ...guarded.thrown];
  return { relay, clock, member, caller, hostile, closedByHostile: false, thrown };
}

/** Moves virtual time in small steps, letting frames (honest pongs among them) flow between steps. */
async function advance(w: World, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 250) {
    w.clock.advanceSync(Math.min(250, left));
    await settle();
  }
}

function proofChallenge(w: World, p: Proof): { relayId: Uint8Array; nonce: Uint8Array } {
  const challenge = w.hostile.last(FrameType.Challenge);
  const real = challenge ?? { relayId: w.relay.relayId, nonce: new Uint8Array(32) };
  return p === "stale" ? { relayId: real.relayId, nonce: real.nonce.map((b) => b ^ 0x5a) } : real;
}

function ref(w: World, r: Ref, length: number): Uint8Array {
  if (r === "member") return w.member.peerId;
  if (r === "caller") return w.caller.peerId;
  if (r === "self" && length === PEER_ID_BYTES)
    return new Uint8Array(w.hostile.last(FrameType.Welcome)?.peerId ?? new Uint8Array(length));
  return new Uint8Array(length).fill(0x33);
}

/** Points a generated frame's origin and service id where the action says. */
function aim(w: World, frame: Frame, origin: Ref, id: "honest" | "hostile" | "random"): Frame {
  const out: Record<string, unknown> = { ...frame };
  if ("origin" in frame && frame.origin.length === PEER_ID_BYTES) out.origin = ref(w, origin, PEER_ID_BYTES);
  // Known gap, not fuzzed here: on an open backbone (no RelayOptions.networkKey) any client may become a
  // relay link, and a relay link's TreeUpdate claiming members of the honest cluster draws its requests,
  // which it can then drop. Such TreeUpdates name other services only.
  const honest = id === "honest" && frame.type !== FrameType.TreeUpdate;
  if ("id" in frame && frame.id.length === ID_BYTES)
    out.id = honest ? honestCluster.id : id === "hostile" ? hostileServices[0]!.id : frame.id;
  return out as Frame;
}

async function perform(w: World, a: Action): Promise<void> {
  const send = (bytes: Uint8Array) => w.hostile.send(bytes);
  switch (a.t) {
    case "hello": {
      const challenge = proofChallenge(w, a.proof);
      const signature =
        a.proof === "forged"
          ? new Uint8Array(64).fill(9)
          : signHello(testCrypto.signing, identities.hostile, challenge.relayId, challenge.nonce);
      send(
        encodeFrame({ type: FrameType.Hello, identityKey: identities.hostile.publicKey, signature, agent: a.agent }),
      );
      break;
    }
    case "join": {
      const keys = hostileServices[a.service]!;
      const signature =
        a.proof === "forged"
          ? new Uint8Array(64).fill(7)
          : signJoin(testCrypto.signing, keys, proofChallenge(w, a.proof).nonce);
      const kind = keys.kind === "cluster" ? JoinKind.Member : JoinKind.Subscriber;
      send(
        encodeFrame({
          type: FrameType.Join,
          corr: a.corr,
          kind,
          nameHash: keys.nameHash,
          publicKey: keys.membership.publicKey,
          signature,
        }),
      );
      break;
    }
    case "frame":
      send(encodeFrame(aim(w, a.frame, a.origin, a.id)));
      break;
    case "mutated":
      send(mutate(encodeFrame(a.frame), a.edits));
      break;
    case "noise":
      send(a.bytes);
      break;
    case "oversized":
      send(
        Uint8Array.from({ length: w.relay.maxFrame + a.extra }, (_, i) =>
          i === 0 ? 1 : i === 1 ? FrameType.Publish : MAX_HOPS,
        ),
      );
      break;
    case "advance":
      return advance(w, a.ms);
    case "pong": {
      const ping = w.hostile.last(FrameType.Ping);
      if (ping) send(encodeFrame({ type: FrameType.Pong, stamp: ping.stamp }));
      break;
    }
    case "honest-request":
      w.caller.request(honestCluster.id);
      break;
    case "close":
      // Its own code, whatever it likes: only codes the relay chooses are checked.
      if (!w.hostile.closeInfo) w.closedByHostile = true;
      w.hostile.link.close(a.code, "hostile leaves");
      break;
  }
  await settle();
}

async function checkSequence(actions: Action[]): Promise<void> {
  const w = await world();
  try {
    for (const a of actions) await perform(w, a);
    // Past the handshake timeout and three missed heartbeats: whatever the link was doing, it is settled.
    await advance(w, 7000);
    const welcomed = w.hostile.has(FrameType.Welcome);
    if (w.hostile.closeInfo && !w.closedByHostile) {
      const { code } = w.hostile.closeInfo;
      assert.ok(KNOWN_CODES.has(code), `the relay closed the hostile link with unknown code ${code}`);
      if (!welcomed) assert.ok(HANDSHAKE_FAILURES.has(code), `the relay closed an unproven link with ${code}`);
    } else if (!w.hostile.closeInfo) {
      assert.ok(welcomed, "a link that never completed its handshake is still open past the timeout");
    }
    // The honest caller's requests all came back, each with its own echo, and one more still does.
    w.caller.request(honestCluster.id);
    await settle(3);
    assert.deepEqual(w.caller.wrongReplies, [], "the honest caller got replies it did not ask for");
    assert.equal(w.caller.waiting.size, 0, `${w.caller.waiting.size} honest requests unanswered`);
    assert.ok(w.member.end.open && w.caller.end.open, "an honest peer lost its link");

    // Once the hostile link is gone, nothing of it remains.
    w.hostile.link.close(1000, "done");
    await settle();
    const snapshot = w.relay.snapshot();
    assert.deepEqual(
      snapshot.peers.map((p) => p.peerId).sort(),
      [toHex(w.member.peerId), toHex(w.caller.peerId)].sort(),
    );
    assert.deepEqual(snapshot.clusters, [{ id: toHex(honestCluster.id), members: 1 }]);
    assert.deepEqual(snapshot.topics, []);
    assert.equal(snapshot.links.length, 0, "a relay link outlived its link");
    assert.equal(snapshot.pendingRequests, 0, "pending requests left behind");
    assert.equal(snapshot.tunnels, 0, "tunnels left behind");
    assert.equal(snapshot.parked, 0, "parked work left behind");
    // The address's single handshake slot and single link slot are free again.
    const next = attach(w.relay, HOSTILE_ADDRESS).end;
    await settle();
    assert.ok(
      next.has(FrameType.Challenge) && next.open,
      `the hostile address is still counted: ${JSON.stringify(next.closeInfo)}`,
    );
    next.link.close(1000, "done");
    await settle();
    assert.deepEqual(w.thrown().map(describeError), [], "the relay threw out of a link handler");
  } finally {
    w.relay.close();
  }
}

const properties: FuzzProperty[] = [
  {
    name: "random frame sequences from a client: no throw, handshaken or closed with a known code, honest peers unaffected, nothing left behind",
    runs: 1_500,
    check: (params) =>
      fc.assert(fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), checkSequence), fcParams(params)),
  },
  {
    name: "sequences that start with a proper handshake and then misbehave: same guarantees",
    runs: 1_000,
    check: (params) =>
      fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), bytes(1), (rest, [agent]) =>
          checkSequence([{ t: "hello", agent: agent! & 1 ? "relay" : "peer", proof: "valid" }, ...rest]),
        ),
        fcParams(params),
      ),
  },
];

fuzzTests("relay handshake", properties);
