// The relay's per-address and per-peer limits, over in-memory links: handshakes in progress and links
// per network address (RelayOptions maxHandshakesPerAddress, maxLinksPerAddress; the `address` argument
// of Relay.accept), and tunnels a peer may have open as a caller (maxTunnelsPerPeer). Each limit closes
// or refuses exactly the one past it, with its own code, touches nobody else, and frees its slot as
// soon as what held it is over.

import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Relay } from "../../../core/relay/relay.ts";
import type { RelayOptions } from "../../../core/relay/relay.ts";
import { CloseCode } from "../../../core/transports/link.ts";
import { deriveServiceKeys, generateIdentity } from "../../../core/crypto/keys.ts";
import { FrameType, MAX_HOPS, TUNNEL_TO_MEMBER, TunnelCloseCode } from "../../../core/wire/frames.ts";
import type { WireEnd } from "../../fixtures/raw-peers.ts";
import { HonestPeer, attach, helloFor, settle } from "../../fixtures/raw-peers.ts";
import { VirtualClock } from "../../fixtures/virtual-clock.ts";
import { seededRandom } from "../../fixtures/mesh.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

const A = "203.0.113.1";
const B = "203.0.113.2";

const relays: Relay[] = [];
afterEach(() => {
  for (const relay of relays.splice(0)) relay.close();
});

function startRelay(options: RelayOptions = {}): { relay: Relay; clock: VirtualClock; log: string[] } {
  const clock = new VirtualClock(1_700_000_000_000);
  const log: string[] = [];
  const relay = new Relay({
    clock,
    random: seededRandom(1),
    startupGraceMs: 0,
    log: (event, fields) => void log.push(`${event} ${JSON.stringify(fields)}`),
    ...options,
  });
  relays.push(relay);
  return { relay, clock, log };
}

/** `count` links from `address`, each having received its challenge (or its refusal). */
async function connectMany(relay: Relay, address: string | undefined, count: number): Promise<WireEnd[]> {
  const ends = Array.from({ length: count }, () => attach(relay, address).end);
  await settle();
  return ends;
}

function challenged(end: WireEnd): boolean {
  return end.open && end.has(FrameType.Challenge);
}

async function completeHandshake(end: WireEnd): Promise<void> {
  end.sendFrame(helloFor(generateIdentity(testCrypto.signing), end.last(FrameType.Challenge)!, "limits-test"));
  await settle();
  assert.ok(end.has(FrameType.Welcome), "handshake did not complete");
}

describe("handshakes in progress per address", () => {
  test("the N+1th handshake from one address is closed with Limit, and the relay logs it", async () => {
    const { relay, log } = startRelay({ maxHandshakesPerAddress: 3 });
    const first = await connectMany(relay, A, 3);
    assert.ok(first.every(challenged), "the first N are challenged");
    const [extra] = await connectMany(relay, A, 1);
    assert.equal(extra!.closeInfo?.code, CloseCode.Limit);
    assert.match(extra!.closeInfo!.reason, /handshakes in progress/);
    assert.ok(!extra!.has(FrameType.Challenge), "a refused link gets no challenge");
    assert.ok(
      log.some((line) => line.startsWith("address-limit") && line.includes(A)),
      log.join("\n"),
    );
    assert.ok(first.every(challenged), "refusing the extra one leaves the others alone");
  });

  test("a completed handshake frees its slot", async () => {
    const { relay } = startRelay({ maxHandshakesPerAddress: 2 });
    const [one] = await connectMany(relay, A, 2);
    await completeHandshake(one!);
    const [next] = await connectMany(relay, A, 1);
    assert.ok(challenged(next!), `closed: ${JSON.stringify(next!.closeInfo)}`);
    const [over] = await connectMany(relay, A, 1);
    assert.equal(over!.closeInfo?.code, CloseCode.Limit, "two handshakes are in progress again");
  });

  test("other addresses, and links with no address, are unaffected by a full address", async () => {
    const { relay } = startRelay({ maxHandshakesPerAddress: 2 });
    await connectMany(relay, A, 2);
    const [refused] = await connectMany(relay, A, 1);
    assert.equal(refused!.closeInfo?.code, CloseCode.Limit);
    const fromB = await connectMany(relay, B, 2);
    const anonymous = await connectMany(relay, undefined, 5);
    assert.ok([...fromB, ...anonymous].every(challenged));
  });

  test("closing a link in its handshake frees its slot, whoever closes it", async () => {
    const { relay, clock } = startRelay({ maxHandshakesPerAddress: 2, handshakeTimeoutMs: 1000 });
    const [one, two] = await connectMany(relay, A, 2);
    one!.link.close(1000, "client gives up");
    await settle();
    assert.ok(challenged((await connectMany(relay, A, 1))[0]!), "a slot freed by the client closing");
    // The relay closing them at the handshake timeout frees the slots too.
    clock.advanceSync(1000);
    await settle();
    assert.equal(two!.closeInfo?.code, CloseCode.HandshakeTimeout);
    const again = await connectMany(relay, A, 2);
    assert.ok(again.every(challenged), "slots freed by the handshake timeout");
  });

  test("a failed handshake frees its slot", async () => {
    const { relay } = startRelay({ maxHandshakesPerAddress: 1 });
    const [liar] = await connectMany(relay, A, 1);
    liar!.sendFrame({
      type: FrameType.Hello,
      identityKey: new Uint8Array(32).fill(1),
      signature: new Uint8Array(64),
      agent: "liar",
    });
    await settle();
    assert.equal(liar!.closeInfo?.code, CloseCode.AuthFailed);
    assert.ok(challenged((await connectMany(relay, A, 1))[0]!));
  });
});

describe("links per address", () => {
  test("the N+1th link from one address is closed with Limit, handshaken or not; other addresses are not", async () => {
    const { relay } = startRelay({ maxLinksPerAddress: 3, maxHandshakesPerAddress: 10 });
    const ends = await connectMany(relay, A, 3);
    for (const end of ends.slice(0, 2)) await completeHandshake(end);
    const [extra] = await connectMany(relay, A, 1);
    assert.equal(extra!.closeInfo?.code, CloseCode.Limit);
    assert.match(extra!.closeInfo!.reason, /too many links/);
    assert.ok(
      ends.every((end) => end.open),
      "the links already there stay",
    );
    assert.ok(challenged((await connectMany(relay, B, 1))[0]!));
  });

  test("closing a link frees its slot, and the address is forgotten once it has none", async () => {
    const { relay } = startRelay({ maxLinksPerAddress: 2 });
    const [one, two] = await connectMany(relay, A, 2);
    await completeHandshake(one!);
    one!.link.close(1000, "bye");
    await settle();
    const [three] = await connectMany(relay, A, 1);
    assert.ok(challenged(three!), "the closed link's slot is free");
    two!.link.close(1000, "bye");
    three!.link.close(1000, "bye");
    await settle();
    const fresh = await connectMany(relay, A, 2);
    assert.ok(fresh.every(challenged), "with every link gone, the address starts from zero");
  });

  test("refused links take no slot and free none: the count stays exact", async () => {
    const { relay } = startRelay({ maxLinksPerAddress: 1 });
    const [held] = await connectMany(relay, A, 1);
    const refused = await connectMany(relay, A, 5);
    assert.ok(refused.every((end) => end.closeInfo?.code === CloseCode.Limit));
    held!.link.close(1000, "bye");
    await settle();
    // Exactly one slot: had the refusals been counted (or uncounted) on close, this would differ.
    const [first, second] = await connectMany(relay, A, 2);
    assert.ok(challenged(first!));
    assert.equal(second!.closeInfo?.code, CloseCode.Limit);
  });
});

describe("tunnels per peer", () => {
  const cluster = deriveServiceKeys(testCrypto.signing, "cluster", "files", new Uint8Array(32).fill(8));

  async function setup(maxTunnelsPerPeer?: number) {
    const { relay } = startRelay(maxTunnelsPerPeer === undefined ? {} : { maxTunnelsPerPeer });
    const member = await HonestPeer.join(relay, generateIdentity(testCrypto.signing), cluster);
    const caller = await HonestPeer.join(relay, generateIdentity(testCrypto.signing));
    const open = (tunnelId: number) =>
      caller.end.sendFrame({
        type: FrameType.TunnelOpen,
        hops: MAX_HOPS,
        flags: 0,
        id: cluster.id,
        origin: caller.peerId,
        tunnelId,
        window: 65536,
        sealed: Uint8Array.of(tunnelId & 0xff),
      });
    const opensAtMember = () => member.end.received.filter((f) => f?.type === FrameType.TunnelOpen).length;
    const refusals = () => caller.end.received.filter((f) => f?.type === FrameType.TunnelClose);
    return { relay, member, caller, open, opensAtMember, refusals };
  }

  test("the 257th tunnel open from one peer gets TunnelClose Refused and never reaches a member", async () => {
    const { relay, caller, open, opensAtMember, refusals } = await setup();
    for (let id = 1; id <= 256; id++) open(id);
    await settle();
    assert.equal(opensAtMember(), 256, "the first 256 opens reach the member");
    assert.equal(relay.snapshot().tunnels, 256);
    assert.deepEqual(refusals(), []);
    open(257);
    await settle();
    const [refusal] = refusals();
    assert.ok(refusal?.type === FrameType.TunnelClose);
    assert.equal(refusal.code, TunnelCloseCode.Refused);
    assert.equal(refusal.tunnelId, 257);
    assert.deepEqual([...refusal.origin], [...caller.peerId]);
    assert.equal(refusal.flags & TUNNEL_TO_MEMBER, 0, "the refusal travels toward the caller");
    assert.match(refusal.reason, /256 tunnels per peer/);
    assert.equal(opensAtMember(), 256, "the refused open was not forwarded");
    assert.equal(relay.snapshot().tunnels, 256);
    assert.ok(caller.end.open, "a refused open does not cost the caller its link");
  });

  test("a tunnel that ends frees its slot; another peer's tunnels do not count against this one", async () => {
    const { relay, member, caller, open, opensAtMember, refusals } = await setup(2);
    open(1);
    open(2);
    open(3);
    await settle();
    assert.equal(refusals().length, 1, "the third is refused");
    // The caller breaks off tunnel 1 (any code but Normal ends the path at once).
    caller.end.sendFrame({
      type: FrameType.TunnelClose,
      flags: TUNNEL_TO_MEMBER,
      origin: caller.peerId,
      tunnelId: 1,
      code: TunnelCloseCode.Protocol,
      sent: 0,
      reason: "done",
    });
    await settle();
    open(4);
    await settle();
    assert.equal(refusals().length, 1, "tunnel 1's slot went to tunnel 4");
    assert.equal(opensAtMember(), 3);
    const other = await HonestPeer.join(relay, generateIdentity(testCrypto.signing));
    for (const tunnelId of [1, 2]) {
      const open = {
        hops: MAX_HOPS,
        flags: 0,
        id: cluster.id,
        origin: other.peerId,
        tunnelId,
        window: 65536,
        sealed: new Uint8Array(1),
      };
      other.end.sendFrame({ type: FrameType.TunnelOpen, ...open });
    }
    await settle();
    assert.ok(!other.end.has(FrameType.TunnelClose), "another peer has its own allowance");
    assert.equal(opensAtMember(), 5);
    assert.ok(member.end.open);
  });
});
