// The relay engine, driven by raw frames over in-memory links: a test client that speaks the wire
// protocol by hand, so every check the relay makes can be poked directly. Time is virtual (VirtualClock):
// heartbeats and handshake timeouts fire only when a test advances it.

import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Relay } from "../../../core/relay/relay.ts";
import type { RelayOptions } from "../../../core/relay/relay.ts";
import { memoryLinkPair } from "../../../core/transports/memory.ts";
import { CloseCode } from "../../../core/transports/link.ts";
import type { Link } from "../../../core/transports/link.ts";
import {
  deriveServiceKeys,
  generateIdentity,
  peerIdOf,
  serviceId,
  signHello,
  signJoin,
} from "../../../core/crypto/keys.ts";
import type { ServiceKeys } from "../../../core/crypto/keys.ts";
import type { SigningKeyPair } from "../../../core/crypto/nacl.ts";
import { equalBytes, randomBytes, toHex } from "../../../core/util/bytes.ts";
import {
  HOPS_OFFSET,
  ROUTE_DOWN,
  ROUTE_FLAGS_OFFSET,
  MAX_HOPS,
  FrameType,
  JoinKind,
  NackCode,
  REQUEST_FLAGS_OFFSET,
  REQUEST_RETRIED,
  ReplyStatus,
  TUNNEL_TO_MEMBER,
  TunnelCloseCode,
  WIRE_VERSION,
  decodeFrame,
  encodeFrame,
} from "../../../core/wire/frames.ts";
import type { ChallengeFrame, Frame, WelcomeFrame } from "../../../core/wire/frames.ts";
import { VirtualClock } from "../../fixtures/virtual-clock.ts";
import { TappedLink, settle } from "../../fixtures/mesh.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

type FrameOf<T extends Frame["type"]> = Extract<Frame, { type: T }>;

/** A peer that speaks the wire protocol by hand over one memory link to the relay. */
class RawPeer {
  readonly link: Link;
  readonly identity: SigningKeyPair;
  readonly peerId: Uint8Array;
  challenge: ChallengeFrame | null = null;
  closeInfo: { code: number; reason: string } | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Every frame received, decoded, in order. */
  readonly received: Frame[] = [];
  /** Raw bytes the relay handed to its end of this link (what it sent us), by object. */
  readonly relaySent: Uint8Array[] = [];
  /** Raw bytes the relay's frame handler was given from this link, by object. */
  readonly relayGot: Uint8Array[] = [];
  private inbox: Frame[] = [];
  private waiters: Array<(frame: Frame) => void> = [];
  private autoPong: boolean;

  constructor(relay: Relay, options: { identity?: SigningKeyPair; autoPong?: boolean } = {}) {
    this.identity = options.identity ?? generateIdentity(testCrypto.signing);
    this.peerId = peerIdOf(this.identity.publicKey);
    this.autoPong = options.autoPong ?? false;
    const [client, server] = memoryLinkPair("raw-peer", "relay");
    this.link = client;
    let onClosed!: (info: { code: number; reason: string }) => void;
    this.closed = new Promise((resolve) => (onClosed = resolve));
    client.listen({
      frame: (bytes) => {
        const frame = decodeFrame(bytes);
        this.received.push(frame);
        if (frame.type === FrameType.Ping && this.autoPong) {
          this.send({ type: FrameType.Pong, stamp: frame.stamp });
          return;
        }
        const waiter = this.waiters.shift();
        if (waiter) waiter(frame);
        else this.inbox.push(frame);
      },
      close: (code, reason) => {
        this.closeInfo = { code, reason };
        onClosed({ code, reason });
      },
    });
    relay.accept(
      new TappedLink(server, (direction, bytes) => (direction === "in" ? this.relayGot : this.relaySent).push(bytes)),
    );
  }

  /** The next frame that is not a Ping. */
  async next(): Promise<Frame> {
    for (;;) {
      const frame = this.inbox.shift() ?? (await new Promise<Frame>((resolve) => this.waiters.push(resolve)));
      if (frame.type !== FrameType.Ping) return frame;
    }
  }

  async expect<T extends Frame["type"]>(type: T): Promise<FrameOf<T>> {
    const frame = await this.next();
    assert.equal(frame.type, type, `expected frame type ${type}, got ${frame.type}`);
    return frame as FrameOf<T>;
  }

  send(frame: Frame): Uint8Array {
    const bytes = encodeFrame(frame);
    this.link.send(bytes);
    return bytes;
  }

  async handshake(): Promise<WelcomeFrame> {
    const challenge = (this.challenge = await this.expect(FrameType.Challenge));
    this.send({
      type: FrameType.Hello,
      identityKey: this.identity.publicKey,
      signature: signHello(testCrypto.signing, this.identity, challenge.relayId, challenge.nonce),
      agent: "raw-test",
    });
    return this.expect(FrameType.Welcome);
  }

  private corr = 1;

  /** Sends a Join proving `keys` and returns the relay's answer. */
  async join(keys: ServiceKeys, overrides: Partial<FrameOf<typeof FrameType.Join>> = {}): Promise<Frame> {
    assert.ok(this.challenge, "handshake first");
    const corr = this.corr++;
    this.send({
      type: FrameType.Join,
      corr,
      kind: keys.kind === "cluster" ? JoinKind.Member : JoinKind.Subscriber,
      nameHash: keys.nameHash,
      publicKey: keys.membership.publicKey,
      signature: signJoin(testCrypto.signing, keys, this.challenge.nonce),
      ...overrides,
    });
    const answer = await this.next();
    assert.ok(answer.type === FrameType.Ack || answer.type === FrameType.Nack, `join answered with ${answer.type}`);
    assert.equal(answer.corr, corr);
    return answer;
  }

  /** Frames received so far, not counting heartbeats. */
  get traffic(): Frame[] {
    return this.received.filter((frame) => frame.type !== FrameType.Ping);
  }
}

const relays: Relay[] = [];
afterEach(() => {
  for (const relay of relays.splice(0)) relay.close();
});

function startRelay(options: RelayOptions = {}): { relay: Relay; clock: VirtualClock } {
  const clock = new VirtualClock(1_700_000_000_000);
  // No startup grace: these tests check that work for an empty cluster fails at once.
  const relay = new Relay({ clock, random: () => 0.5, startupGraceMs: 0, ...options });
  relays.push(relay);
  return { relay, clock };
}

async function readyPeer(
  relay: Relay,
  options: { identity?: SigningKeyPair; autoPong?: boolean } = {},
): Promise<RawPeer> {
  const peer = new RawPeer(relay, options);
  await peer.handshake();
  return peer;
}

/**
 * What a relay forwards: the frame as sent, with one hop of its budget spent in place, and for requests
 * and tunnel opens handed to a member, the DOWN routing flag set.
 */
function spent(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out[HOPS_OFFSET] = out[HOPS_OFFSET]! - 1;
  if (out[1] === FrameType.Request || out[1] === FrameType.TunnelOpen)
    out[ROUTE_FLAGS_OFFSET] = out[ROUTE_FLAGS_OFFSET]! | ROUTE_DOWN;
  return out;
}

function clusterKeys(name: string): ServiceKeys {
  return deriveServiceKeys(testCrypto.signing, "cluster", name, randomBytes(32));
}

/** Bytes that are not a valid seal: the relay must route them without caring. */
function garbage(length: number): Uint8Array {
  const bytes = randomBytes(length);
  bytes[0] = 0x99;
  return bytes;
}

describe("relay handshake", () => {
  test("a challenge, a signed hello and a welcome carrying the peer id and the relay's settings", async () => {
    const identity = generateIdentity(testCrypto.signing);
    const relayId = peerIdOf(identity.publicKey);
    const { relay, clock } = startRelay({ identity, heartbeatMs: 1234, maxMessage: 50_000 });
    const peer = new RawPeer(relay);
    const other = new RawPeer(relay);
    const welcome = await peer.handshake();
    const challenge = peer.challenge!;
    assert.ok(equalBytes(challenge.relayId, relayId));
    assert.equal(challenge.nonce.length, 32);
    const otherChallenge = await other.expect(FrameType.Challenge);
    assert.ok(!equalBytes(otherChallenge.nonce, challenge.nonce), "every link gets a fresh challenge");
    assert.ok(equalBytes(welcome.peerId, peer.peerId));
    assert.equal(welcome.heartbeatMs, 1234);
    assert.equal(welcome.maxMessage, 50_000);
    assert.equal(welcome.relayTime, clock.now());
    const snapshot = relay.snapshot();
    assert.deepEqual(
      snapshot.peers.map((p) => [p.peerId, p.agent]),
      [[toHex(peer.peerId), "raw-test"]],
      "only the peer that finished its handshake is listed",
    );
  });

  test("a hello with a bad signature closes the link with AuthFailed", async () => {
    const { relay } = startRelay();
    const peer = new RawPeer(relay);
    const challenge = await peer.expect(FrameType.Challenge);
    // Signed for another relay id: valid signature, wrong statement.
    peer.send({
      type: FrameType.Hello,
      identityKey: peer.identity.publicKey,
      signature: signHello(testCrypto.signing, peer.identity, randomBytes(16), challenge.nonce),
      agent: "raw-test",
    });
    const { code } = await peer.closed;
    assert.equal(code, CloseCode.AuthFailed);
    assert.equal(relay.snapshot().peers.length, 0);
  });

  test("a hello replayed from another link's challenge closes with AuthFailed", async () => {
    const { relay } = startRelay();
    const first = new RawPeer(relay);
    const firstChallenge = await first.expect(FrameType.Challenge);
    const captured = signHello(testCrypto.signing, first.identity, firstChallenge.relayId, firstChallenge.nonce);
    const thief = new RawPeer(relay, { identity: first.identity });
    await thief.expect(FrameType.Challenge);
    thief.send({ type: FrameType.Hello, identityKey: first.identity.publicKey, signature: captured, agent: "thief" });
    assert.equal((await thief.closed).code, CloseCode.AuthFailed);
  });

  test("a wrong wire version closes with Version and a reason naming the version", async () => {
    const { relay } = startRelay();
    const peer = new RawPeer(relay);
    const challenge = await peer.expect(FrameType.Challenge);
    const hello = encodeFrame({
      type: FrameType.Hello,
      identityKey: peer.identity.publicKey,
      signature: signHello(testCrypto.signing, peer.identity, challenge.relayId, challenge.nonce),
      agent: "future-peer",
    });
    hello[0] = WIRE_VERSION + 1;
    peer.link.send(hello);
    const { code, reason } = await peer.closed;
    assert.equal(code, CloseCode.Version);
    assert.match(reason, /version/i);
    assert.ok(reason.includes(String(WIRE_VERSION)), `reason "${reason}" names the version the relay speaks`);
  });

  for (const [name, bytes] of [
    ["an empty frame", new Uint8Array(0)],
    ["an unknown frame type", Uint8Array.of(WIRE_VERSION, 0xee, 1, 2, 3)],
    ["a truncated hello", Uint8Array.of(WIRE_VERSION, FrameType.Hello, 1, 2, 3)],
    ["a hello with trailing bytes", null],
  ] as const) {
    test(`${name} closes the link with Protocol`, async () => {
      const { relay } = startRelay();
      const peer = new RawPeer(relay);
      const challenge = await peer.expect(FrameType.Challenge);
      let frame = bytes;
      if (frame === null) {
        const hello = encodeFrame({
          type: FrameType.Hello,
          identityKey: peer.identity.publicKey,
          signature: signHello(testCrypto.signing, peer.identity, challenge.relayId, challenge.nonce),
          agent: "x",
        });
        const padded = new Uint8Array(hello.length + 1);
        padded.set(hello);
        frame = padded;
      }
      peer.link.send(frame);
      assert.equal((await peer.closed).code, CloseCode.Protocol);
    });
  }

  test("any frame other than hello during the handshake closes with Protocol", async () => {
    const { relay } = startRelay();
    const peer = new RawPeer(relay);
    await peer.expect(FrameType.Challenge);
    peer.send({ type: FrameType.Ping, stamp: 1 });
    const { code, reason } = await peer.closed;
    assert.equal(code, CloseCode.Protocol);
    assert.match(reason, /hello/);
  });

  test("garbage after the handshake closes with Protocol, and a frame only relays send is refused", async () => {
    const { relay } = startRelay();
    const peer = await readyPeer(relay);
    peer.link.send(Uint8Array.of(WIRE_VERSION, FrameType.Join, 0x80));
    assert.equal((await peer.closed).code, CloseCode.Protocol);

    const impostor = await readyPeer(relay);
    impostor.send({ type: FrameType.Welcome, peerId: impostor.peerId, relayTime: 1, heartbeatMs: 1, maxMessage: 1 });
    assert.equal((await impostor.closed).code, CloseCode.Protocol);
  });

  test("a frame over the relay's frame limit closes with TooBig", async () => {
    const { relay } = startRelay({ maxMessage: 1000 });
    const peer = await readyPeer(relay);
    peer.link.send(new Uint8Array(relay.maxFrame + 1));
    assert.equal((await peer.closed).code, CloseCode.TooBig);
  });

  test("no hello within handshakeTimeoutMs closes with HandshakeTimeout", async () => {
    const { relay, clock } = startRelay({ handshakeTimeoutMs: 50 });
    const silent = new RawPeer(relay);
    const prompt = new RawPeer(relay);
    await silent.expect(FrameType.Challenge);
    await prompt.handshake();
    clock.advanceSync(49);
    await settle();
    assert.equal(silent.closeInfo, null, "still open one millisecond before the deadline");
    clock.advanceSync(1);
    assert.equal((await silent.closed).code, CloseCode.HandshakeTimeout);
    await settle();
    assert.equal(prompt.closeInfo, null, "a peer that finished its handshake is not affected");
  });

  test("a second connection of the same identity replaces the first", async () => {
    const { relay } = startRelay();
    const identity = generateIdentity(testCrypto.signing);
    const first = await readyPeer(relay, { identity });
    const second = new RawPeer(relay, { identity });
    const welcome = await second.handshake();
    assert.ok(equalBytes(welcome.peerId, first.peerId));
    assert.equal((await first.closed).code, CloseCode.Replaced);
    await settle();
    assert.equal(second.closeInfo, null);
    assert.equal(relay.snapshot().peers.length, 1, "the replaced session is forgotten");
  });

  test("relay.close() closes every link with GoingAway and refuses new ones", async () => {
    const { relay } = startRelay();
    const peer = await readyPeer(relay);
    relay.close("maintenance");
    assert.deepEqual(await peer.closed, { code: CloseCode.GoingAway, reason: "maintenance" });
    const late = new RawPeer(relay);
    assert.equal((await late.closed).code, CloseCode.GoingAway);
  });
});

describe("relay heartbeats", () => {
  test("a silent peer is pinged after a heartbeat, closed with HeartbeatTimeout after three; one that answers pings stays", async () => {
    const { relay, clock } = startRelay({ heartbeatMs: 100, missedHeartbeats: 3 });
    const silent = await readyPeer(relay);
    const lively = await readyPeer(relay, { autoPong: true });
    clock.advanceSync(290);
    await settle();
    assert.equal(silent.closeInfo, null, "three heartbeats of silence are tolerated");
    assert.ok(
      silent.received.some((frame) => frame.type === FrameType.Ping),
      "the relay pinged",
    );
    clock.advanceSync(40);
    const { code } = await silent.closed;
    assert.equal(code, CloseCode.HeartbeatTimeout);
    for (let t = 0; t < 10; t++) {
      clock.advanceSync(100);
      await settle();
    }
    assert.equal(lively.closeInfo, null, "a peer that answers is kept");
  });

  test("a peer whose frames the relay stopped reading (flow control) is never blamed for its silence", async () => {
    const { relay, clock } = startRelay({
      heartbeatMs: 100,
      missedHeartbeats: 3,
      queueHighWater: 64 * 1024,
      stallTimeoutMs: 600_000,
    });
    const topic = deriveServiceKeys(testCrypto.signing, "topic", "news", randomBytes(32));
    const subscriber = await readyPeer(relay);
    assert.equal((await subscriber.join(topic)).type, FrameType.Ack);
    // It answers no ping: after its publishes, only the relay's choice keeps it from being heard.
    const publisher = await readyPeer(relay);
    subscriber.link.pause();
    for (let i = 0; i < 64; i++) {
      publisher.send({
        type: FrameType.Publish,
        hops: MAX_HOPS,
        id: topic.id,
        origin: publisher.peerId,
        sealed: garbage(4096),
      });
    }
    await settle();
    assert.equal(relay.flow.pausedSenders, 1, "the relay stopped reading the publisher");
    for (let t = 0; t < 30; t++) {
      clock.advanceSync(100);
      // The subscriber reads nothing but shows it is there.
      subscriber.send({ type: FrameType.Load, id: clusterKeys("idle").id, load: t });
      await settle();
    }
    assert.equal(publisher.closeInfo, null, "paused for ten times the dead interval, and kept");
    assert.equal(subscriber.closeInfo, null);
    assert.ok(
      publisher.received.some((frame) => frame.type === FrameType.Ping),
      "the relay kept pinging it: the paused peer still hears from its relay",
    );
  });

  test("a peer whose frames keep coming is never pinged: any frame is proof of life", async () => {
    const { relay, clock } = startRelay({ heartbeatMs: 100, missedHeartbeats: 3 });
    const busy = await readyPeer(relay);
    for (let t = 0; t < 50; t++) {
      clock.advanceSync(50);
      busy.send({ type: FrameType.Load, id: clusterKeys("idle").id, load: t });
      await settle();
    }
    assert.equal(busy.closeInfo, null);
    assert.equal(busy.received.filter((frame) => frame.type === FrameType.Ping).length, 0);
  });

  test("the relay's own stall is not held against its peers", async () => {
    const { relay, clock } = startRelay({ heartbeatMs: 100, missedHeartbeats: 3 });
    const peer = await readyPeer(relay, { autoPong: true });
    clock.advanceSync(150);
    await settle();
    clock.freeze(10_000); // the relay is frozen for 10 s: nothing it could hear, it heard
    clock.advanceSync(10); // on waking, its timers run late
    await settle();
    clock.advanceSync(200); // the peer answers the pings that follow
    await settle();
    assert.equal(peer.closeInfo, null);
  });

  test("a peer cut behind frames it never read is told why when it dials again, once", async () => {
    const { relay, clock } = startRelay({ heartbeatMs: 100, missedHeartbeats: 3 });
    const identity = generateIdentity(testCrypto.signing);
    const stuck = await readyPeer(relay, { identity });
    // It stops reading: the relay's pings pile up in the link, and it answers none of them.
    stuck.link.pause();
    clock.advanceSync(400);
    await settle();
    stuck.link.resume();
    assert.equal((await stuck.closed).code, CloseCode.HeartbeatTimeout);
    // Its next dial is answered with the reason of the cut, then closed...
    const asking = new RawPeer(relay, { identity });
    await asking.expect(FrameType.Challenge).then((challenge) =>
      asking.send({
        type: FrameType.Hello,
        identityKey: identity.publicKey,
        signature: signHello(testCrypto.signing, identity, challenge.relayId, challenge.nonce),
        agent: "raw-test",
      }),
    );
    const { code, reason } = await asking.closed;
    assert.equal(code, CloseCode.HeartbeatTimeout);
    assert.match(reason, /^no frame for \d+ ms \(\d+ ms ago\)$/);
    // ...and the dial after that is welcome.
    await readyPeer(relay, { identity });
  });

  test("a ping from the peer is answered with a pong carrying its stamp", async () => {
    const { relay } = startRelay();
    const peer = await readyPeer(relay);
    peer.send({ type: FrameType.Ping, stamp: 424242 });
    assert.equal((await peer.expect(FrameType.Pong)).stamp, 424242);
  });
});

describe("relay joins", () => {
  test("a join with a valid proof is acked and a bad proof gets Nack BadProof", async () => {
    const { relay } = startRelay();
    const peer = await readyPeer(relay);
    const keys = clusterKeys("db");
    const bad = await peer.join(keys, { signature: signJoin(testCrypto.signing, keys, randomBytes(32)) });
    assert.equal(bad.type, FrameType.Nack);
    assert.equal((bad as FrameOf<typeof FrameType.Nack>).code, NackCode.BadProof);
    assert.deepEqual(relay.snapshot().clusters, []);
    const good = await peer.join(keys);
    assert.equal(good.type, FrameType.Ack);
    assert.deepEqual(relay.snapshot().clusters, [{ id: toHex(keys.id), members: 1 }]);
  });

  test("a proof captured on one link is worthless on another", async () => {
    const { relay } = startRelay();
    const member = await readyPeer(relay);
    const thief = await readyPeer(relay);
    const keys = clusterKeys("db");
    const stolen = signJoin(testCrypto.signing, keys, member.challenge!.nonce);
    assert.equal((await member.join(keys)).type, FrameType.Ack);
    const answer = await thief.join(keys, { signature: stolen });
    assert.equal(answer.type, FrameType.Nack);
    assert.equal((answer as FrameOf<typeof FrameType.Nack>).code, NackCode.BadProof);
  });

  test("a join naming a real cluster with another public key cannot reach that cluster", async () => {
    const { relay } = startRelay();
    const real = clusterKeys("payments");
    const attacker = await readyPeer(relay);
    const caller = await readyPeer(relay);
    const ownKeys = generateIdentity(testCrypto.signing);

    // Signing the real id with the attacker's key: the relay recomputes the id from the name hash and
    // the attacker's key, which differs, so the proof does not verify.
    const forged = await attacker.join(real, {
      publicKey: ownKeys.publicKey,
      signature: signJoin(testCrypto.signing, { ...real, membership: ownKeys }, attacker.challenge!.nonce),
    });
    assert.equal(forged.type, FrameType.Nack);
    assert.equal((forged as FrameOf<typeof FrameType.Nack>).code, NackCode.BadProof);

    // Proving its own key pair works, but joins a different cluster that merely shares the name.
    const sameName = { ...real, membership: ownKeys };
    const ownId = serviceId(JoinKind.Member, real.nameHash, ownKeys.publicKey);
    const own = await attacker.join({ ...sameName, id: ownId });
    assert.equal(own.type, FrameType.Ack);
    assert.deepEqual(
      relay.snapshot().clusters.map((c) => c.id),
      [toHex(ownId)],
    );
    assert.notEqual(toHex(ownId), toHex(real.id));

    // A request for the real cluster finds no member.
    caller.send({
      type: FrameType.Request,
      hops: MAX_HOPS,
      flags: 0,
      id: real.id,
      origin: caller.peerId,
      reqId: 1,
      timeoutMs: 1000,
      sealed: garbage(64),
    });
    const reply = await caller.expect(FrameType.Reply);
    assert.equal(reply.status, ReplyStatus.NoMembers);
    await settle();
    assert.deepEqual(
      attacker.traffic.filter((f) => f.type === FrameType.Request),
      [],
      "the attacker saw no request",
    );
  });

  test("joins beyond maxJoinsPerPeer get Nack Limit; leaving frees a slot", async () => {
    const { relay } = startRelay({ maxJoinsPerPeer: 2 });
    const peer = await readyPeer(relay);
    const [a, b, c] = [clusterKeys("a"), clusterKeys("b"), clusterKeys("c")];
    assert.equal((await peer.join(a)).type, FrameType.Ack);
    assert.equal((await peer.join(b)).type, FrameType.Ack);
    assert.equal((await peer.join(a)).type, FrameType.Ack, "joining again is not a new join");
    const refused = await peer.join(c);
    assert.equal(refused.type, FrameType.Nack);
    assert.equal((refused as FrameOf<typeof FrameType.Nack>).code, NackCode.Limit);
    peer.send({ type: FrameType.Leave, corr: 99, kind: JoinKind.Member, id: a.id });
    assert.equal((await peer.expect(FrameType.Ack)).corr, 99);
    assert.equal((await peer.join(c)).type, FrameType.Ack);
  });
});

describe("relay routing", () => {
  test("a frame whose origin is not the sender's peer id closes the link", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("db");
    const member = await readyPeer(relay);
    await member.join(keys);
    const kinds: Array<(origin: Uint8Array) => Frame> = [
      (origin) => ({ type: FrameType.Broadcast, hops: MAX_HOPS, id: keys.id, origin, sealed: garbage(40) }),
      (origin) => ({ type: FrameType.Publish, hops: MAX_HOPS, id: keys.id, origin, sealed: garbage(40) }),
      (origin) => ({
        type: FrameType.Request,
        hops: MAX_HOPS,
        flags: 0,
        id: keys.id,
        origin,
        reqId: 1,
        timeoutMs: 1000,
        sealed: garbage(40),
      }),
      (origin) => ({
        type: FrameType.TunnelOpen,
        hops: MAX_HOPS,
        flags: 0,
        id: keys.id,
        origin,
        tunnelId: 1,
        window: 1000,
        sealed: garbage(40),
      }),
    ];
    for (const make of kinds) {
      const spoofer = await readyPeer(relay);
      spoofer.send(make(member.peerId));
      const { code, reason } = await spoofer.closed;
      assert.equal(code, CloseCode.Protocol);
      assert.match(reason, /origin/);
    }
    await settle();
    assert.deepEqual(
      member.traffic.filter((f) => f.type >= FrameType.Request),
      [],
      "nothing spoofed reached the member",
    );
  });

  test("broadcasts and publishes are forwarded as the very bytes received, to every member or subscriber", async () => {
    const { relay } = startRelay();
    const cluster = clusterKeys("db");
    const topic = deriveServiceKeys(testCrypto.signing, "topic", "news", randomBytes(32));
    const members = [await readyPeer(relay), await readyPeer(relay), await readyPeer(relay)];
    for (const m of members) assert.equal((await m.join(cluster)).type, FrameType.Ack);
    const subscriber = await readyPeer(relay);
    assert.equal((await subscriber.join(topic)).type, FrameType.Ack);
    const sender = await readyPeer(relay);

    const broadcast = sender.send({
      type: FrameType.Broadcast,
      hops: MAX_HOPS,
      id: cluster.id,
      origin: sender.peerId,
      sealed: garbage(300),
    });
    const published = sender.send({
      type: FrameType.Publish,
      hops: MAX_HOPS,
      id: topic.id,
      origin: sender.peerId,
      sealed: garbage(300),
    });
    const got = sender.relayGot;
    await Promise.all(members.map((m) => m.expect(FrameType.Broadcast)));
    await subscriber.expect(FrameType.Publish);

    const receivedBroadcast = got.find((bytes) => equalBytes(bytes, spent(broadcast)))!;
    const receivedPublish = got.find((bytes) => equalBytes(bytes, spent(published)))!;
    assert.ok(receivedBroadcast && receivedPublish);
    for (const m of members) {
      const out = m.relaySent.filter((bytes) => bytes[1] === FrameType.Broadcast);
      assert.equal(out.length, 1);
      assert.equal(out[0], receivedBroadcast, "the relay sent the same bytes object it received");
      assert.ok(m.traffic.some((f) => f.type === FrameType.Broadcast));
    }
    const toSubscriber = subscriber.relaySent.filter((bytes) => bytes[1] === FrameType.Publish);
    assert.deepEqual(toSubscriber, [receivedPublish]);
    assert.equal(toSubscriber[0], receivedPublish);
    // And what arrived is byte for byte what the sender encoded, but for the hop the relay spent.
    const arrived = members[0]!.traffic.find((f) => f.type === FrameType.Broadcast)!;
    assert.deepEqual(encodeFrame(arrived), spent(broadcast));
  });

  test("requests route on the header alone: a body that is no seal at all is forwarded untouched, and so is the reply", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("db");
    const member = await readyPeer(relay);
    await member.join(keys);
    const caller = await readyPeer(relay);
    const body = garbage(5000);
    const request = caller.send({
      type: FrameType.Request,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      reqId: 7,
      timeoutMs: 5000,
      sealed: body,
    });
    const arrived = await member.expect(FrameType.Request);
    assert.ok(equalBytes(arrived.sealed, body));
    assert.equal(arrived.flags, ROUTE_DOWN, "only the routing direction is marked");
    const requestIn = caller.relayGot.find((bytes) => bytes[1] === FrameType.Request)!;
    assert.equal(
      member.relaySent.find((bytes) => bytes[1] === FrameType.Request),
      requestIn,
      "same object forwarded",
    );
    assert.deepEqual(requestIn, spent(request), "and not modified, but for the hop the relay spent");
    assert.equal(relay.snapshot().pendingRequests, 1);

    const reply = member.send({
      type: FrameType.Reply,
      status: ReplyStatus.Ok,
      origin: caller.peerId,
      reqId: 7,
      body: garbage(900),
    });
    const replied = await caller.expect(FrameType.Reply);
    assert.deepEqual(encodeFrame(replied), reply);
    const replyIn = member.relayGot.find((bytes) => bytes[1] === FrameType.Reply)!;
    assert.equal(
      caller.relaySent.find((bytes) => bytes[1] === FrameType.Reply),
      replyIn,
    );
    assert.equal(relay.snapshot().pendingRequests, 0);
  });

  test("a reply from a peer that was not asked is dropped; the real member's reply gets through", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("db");
    const member = await readyPeer(relay);
    await member.join(keys);
    const caller = await readyPeer(relay);
    const meddler = await readyPeer(relay);
    caller.send({
      type: FrameType.Request,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      reqId: 1,
      timeoutMs: 5000,
      sealed: garbage(50),
    });
    await member.expect(FrameType.Request);
    meddler.send({
      type: FrameType.Reply,
      status: ReplyStatus.Ok,
      origin: caller.peerId,
      reqId: 1,
      body: Uint8Array.of(6, 6, 6),
    });
    const real = member.send({
      type: FrameType.Reply,
      status: ReplyStatus.Ok,
      origin: caller.peerId,
      reqId: 1,
      body: Uint8Array.of(1, 2, 3),
    });
    const first = await caller.expect(FrameType.Reply);
    assert.deepEqual(encodeFrame(first), real);
  });

  test("a request to an empty cluster gets NoMembers at once; a tunnel open gets TunnelClose NoMembers", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("empty");
    const caller = await readyPeer(relay);
    caller.send({
      type: FrameType.Request,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      reqId: 3,
      timeoutMs: 5000,
      sealed: garbage(50),
    });
    const reply = await caller.expect(FrameType.Reply);
    assert.equal(reply.status, ReplyStatus.NoMembers);
    assert.equal(reply.reqId, 3);
    caller.send({
      type: FrameType.TunnelOpen,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      tunnelId: 4,
      window: 1000,
      sealed: garbage(50),
    });
    const close = await caller.expect(FrameType.TunnelClose);
    assert.equal(close.code, TunnelCloseCode.NoMembers);
    assert.equal(close.tunnelId, 4);
    assert.equal(close.flags & TUNNEL_TO_MEMBER, 0);
  });

  test("a frame whose hop budget is spent goes no further: a request gets NoMembers, a tunnel open TunnelClose", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("far");
    const member = await readyPeer(relay);
    await member.join(keys);
    const caller = await readyPeer(relay);
    caller.send({
      type: FrameType.Request,
      hops: 0,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      reqId: 5,
      timeoutMs: 5000,
      sealed: garbage(50),
    });
    const reply = await caller.expect(FrameType.Reply);
    assert.equal(reply.status, ReplyStatus.NoMembers);
    assert.match(new TextDecoder().decode(reply.body), /hop limit/);
    caller.send({
      type: FrameType.TunnelOpen,
      hops: 0,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      tunnelId: 6,
      window: 1000,
      sealed: garbage(50),
    });
    const close = await caller.expect(FrameType.TunnelClose);
    assert.equal(close.code, TunnelCloseCode.NoMembers);
    // With a budget left, the same request does reach the member: it was the budget that stopped them.
    caller.send({
      type: FrameType.Request,
      hops: 1,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      reqId: 7,
      timeoutMs: 5000,
      sealed: garbage(50),
    });
    assert.equal((await member.expect(FrameType.Request)).reqId, 7);
    assert.equal(
      member.traffic.filter((frame) => frame.type === FrameType.Request || frame.type === FrameType.TunnelOpen).length,
      1,
    );
  });

  test("a member that dies before replying: the request goes to another member, flagged as retried, as often as members die", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("db");
    const members = [await readyPeer(relay), await readyPeer(relay), await readyPeer(relay)];
    for (const m of members) await m.join(keys);
    const caller = await readyPeer(relay);
    const original = caller.send({
      type: FrameType.Request,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      reqId: 9,
      timeoutMs: 5000,
      sealed: garbage(80),
    });
    await settle();
    const holding = () =>
      members.filter((m) => m.closeInfo === null && m.traffic.some((f) => f.type === FrameType.Request));
    const first = holding()[0]!;
    assert.ok(first);
    first.link.close(CloseCode.Normal, "member crashed");
    await settle();
    const second = holding().find((m) => m !== first)!;
    const retried = second.traffic.find((f) => f.type === FrameType.Request)!;
    const expected = spent(original);
    expected[REQUEST_FLAGS_OFFSET]! |= REQUEST_RETRIED;
    assert.deepEqual(encodeFrame(retried), expected, "the same frame, with only the retried flag set");

    // The second member dies too: the third, not tried yet, gets it.
    second.link.close(CloseCode.Normal, "member crashed too");
    await settle();
    const third = members.find((m) => m !== first && m !== second)!;
    assert.ok(
      third.traffic.some((f) => f.type === FrameType.Request),
      "placed again on the last member",
    );
    // And when every member has failed it, the caller hears MemberLost at once.
    third.link.close(CloseCode.Normal, "all gone");
    const reply = await caller.expect(FrameType.Reply);
    assert.equal(reply.status, ReplyStatus.MemberLost);
    assert.equal(reply.reqId, 9);
    assert.equal(relay.snapshot().pendingRequests, 0);
  });

  test("a request handed back by a leaving member (MemberLost) goes to another member, again and again", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("db");
    const members = [await readyPeer(relay), await readyPeer(relay), await readyPeer(relay)];
    for (const m of members) await m.join(keys);
    const caller = await readyPeer(relay);
    caller.send({
      type: FrameType.Request,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      reqId: 11,
      timeoutMs: 5000,
      sealed: garbage(80),
    });
    await settle();
    const handedBack = new Set<RawPeer>();
    for (let round = 0; round < 2; round++) {
      const holder = members.find(
        (m) => !handedBack.has(m) && m.traffic.some((f) => f.type === FrameType.Request && f.reqId === 11),
      )!;
      assert.ok(holder, `round ${round}: the request reached a member not tried yet`);
      holder.send({
        type: FrameType.Reply,
        status: ReplyStatus.MemberLost,
        origin: caller.peerId,
        reqId: 11,
        body: new TextEncoder().encode("member is leaving"),
      });
      handedBack.add(holder);
      await settle();
    }
    const last = members.find((m) => !handedBack.has(m))!;
    assert.ok(last.traffic.some((f) => f.type === FrameType.Request && f.reqId === 11));
    assert.equal(caller.traffic.filter((f) => f.type === FrameType.Reply).length, 0, "the caller heard nothing yet");
  });

  test("a duplicate of a pending request (a re-send after reconnect) is not routed twice", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("db");
    const members = [await readyPeer(relay), await readyPeer(relay)];
    for (const m of members) await m.join(keys);
    const caller = await readyPeer(relay);
    const frame: Frame = {
      type: FrameType.Request,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      reqId: 5,
      timeoutMs: 5000,
      sealed: garbage(80),
    };
    caller.send(frame);
    caller.send(frame);
    await settle();
    const requests = members.flatMap((m) => m.traffic.filter((f) => f.type === FrameType.Request));
    assert.equal(requests.length, 1);
  });

  test("tunnel frames follow the path the open set up, in both directions, as the bytes received", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("db");
    const member = await readyPeer(relay);
    await member.join(keys);
    const caller = await readyPeer(relay);
    const bystander = await readyPeer(relay);
    const open = caller.send({
      type: FrameType.TunnelOpen,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller.peerId,
      tunnelId: 1,
      window: 4096,
      sealed: garbage(60),
    });
    assert.deepEqual(encodeFrame(await member.expect(FrameType.TunnelOpen)), spent(open));
    const accept = member.send({
      type: FrameType.TunnelAccept,
      origin: caller.peerId,
      tunnelId: 1,
      window: 4096,
      sealed: garbage(60),
    });
    assert.deepEqual(encodeFrame(await caller.expect(FrameType.TunnelAccept)), accept);

    const toMember = caller.send({
      type: FrameType.TunnelData,
      flags: TUNNEL_TO_MEMBER,
      origin: caller.peerId,
      tunnelId: 1,
      seq: 0,
      sealed: garbage(700),
    });
    const toCaller = member.send({
      type: FrameType.TunnelData,
      flags: 0,
      origin: caller.peerId,
      tunnelId: 1,
      seq: 0,
      sealed: garbage(700),
    });
    const credit = member.send({
      type: FrameType.TunnelCredit,
      flags: 0,
      origin: caller.peerId,
      tunnelId: 1,
      granted: 700,
      ack: 0,
    });
    assert.deepEqual(encodeFrame(await member.expect(FrameType.TunnelData)), toMember);
    assert.deepEqual(encodeFrame(await caller.expect(FrameType.TunnelData)), toCaller);
    assert.deepEqual(encodeFrame(await caller.expect(FrameType.TunnelCredit)), credit);
    const dataIn = caller.relayGot.find((bytes) => bytes[1] === FrameType.TunnelData)!;
    assert.equal(
      member.relaySent.find((bytes) => bytes[1] === FrameType.TunnelData),
      dataIn,
    );

    // A third peer cannot inject into the tunnel in either direction.
    bystander.send({
      type: FrameType.TunnelData,
      flags: 0,
      origin: caller.peerId,
      tunnelId: 1,
      seq: 0,
      sealed: garbage(10),
    });
    bystander.send({
      type: FrameType.TunnelData,
      flags: TUNNEL_TO_MEMBER,
      origin: caller.peerId,
      tunnelId: 1,
      seq: 0,
      sealed: garbage(10),
    });

    // Closing: the path is forgotten once both directions have closed normally.
    caller.send({
      type: FrameType.TunnelClose,
      flags: TUNNEL_TO_MEMBER,
      origin: caller.peerId,
      tunnelId: 1,
      code: TunnelCloseCode.Normal,
      sent: 0,
      reason: "done",
    });
    assert.equal((await member.expect(FrameType.TunnelClose)).reason, "done");
    assert.equal(relay.snapshot().tunnels, 1, "half-closed: the member may still send");
    member.send({
      type: FrameType.TunnelClose,
      flags: 0,
      origin: caller.peerId,
      tunnelId: 1,
      code: TunnelCloseCode.Normal,
      sent: 0,
      reason: "ok",
    });
    assert.equal((await caller.expect(FrameType.TunnelClose)).reason, "ok");
    assert.equal(relay.snapshot().tunnels, 0);
    await settle();
    assert.equal(
      member.traffic.filter((f) => f.type === FrameType.TunnelData).length,
      1,
      "the bystander injected nothing",
    );
    assert.equal(caller.traffic.filter((f) => f.type === FrameType.TunnelData).length, 1);
  });

  test("when a tunnel's caller goes, the member is told LinkLost; an open whose member goes finds no other", async () => {
    const { relay } = startRelay();
    const keys = clusterKeys("db");
    const member = await readyPeer(relay);
    await member.join(keys);
    const caller = await readyPeer(relay);
    for (const tunnelId of [1, 2]) {
      caller.send({
        type: FrameType.TunnelOpen,
        hops: MAX_HOPS,
        flags: 0,
        id: keys.id,
        origin: caller.peerId,
        tunnelId,
        window: 4096,
        sealed: garbage(60),
      });
      await member.expect(FrameType.TunnelOpen);
      member.send({ type: FrameType.TunnelAccept, origin: caller.peerId, tunnelId, window: 4096, sealed: garbage(60) });
      await caller.expect(FrameType.TunnelAccept);
    }
    const caller2 = await readyPeer(relay);
    caller2.send({
      type: FrameType.TunnelOpen,
      hops: MAX_HOPS,
      flags: 0,
      id: keys.id,
      origin: caller2.peerId,
      tunnelId: 1,
      window: 4096,
      sealed: garbage(60),
    });
    await member.expect(FrameType.TunnelOpen);

    caller.link.close(CloseCode.Normal, "caller left");
    const notices = [await member.expect(FrameType.TunnelClose), await member.expect(FrameType.TunnelClose)];
    assert.deepEqual(notices.map((n) => n.tunnelId).sort(), [1, 2]);
    for (const n of notices) {
      assert.equal(n.code, TunnelCloseCode.LinkLost);
      assert.ok(n.flags & TUNNEL_TO_MEMBER);
      assert.ok(equalBytes(n.origin, caller.peerId));
    }
    // caller2's tunnel was never accepted: its open looks for another member, and there is none.
    member.link.close(CloseCode.Normal, "member left");
    const notice = await caller2.expect(FrameType.TunnelClose);
    assert.equal(notice.code, TunnelCloseCode.NoMembers);
    assert.equal(relay.snapshot().tunnels, 0);
  });
});
