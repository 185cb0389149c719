// A tunnel's two ends, wired by hand: a relay route that always delivers, and a direct link that one end
// can lose without the other noticing yet (werift's close does not always reach the far side; the
// heartbeat finds it seconds later). Whatever the direct link swallows, the tunnel still closes cleanly.

import { test } from "node:test";
import assert from "node:assert/strict";
import { deriveServiceKeys, generateKey, parseKey } from "../../../../../core/crypto/keys.ts";
import { SessionHandshake } from "../../../../../core/crypto/session.ts";
import type { PeerContext } from "../../../../../core/peer/patterns/context.ts";
import { DEFAULT_TUNNEL_SETTINGS, Tunnel } from "../../../../../core/peer/patterns/tunnel/tunnel.ts";
import type { TunnelRole } from "../../../../../core/peer/patterns/tunnel/tunnel.ts";
import type { Link } from "../../../../../core/transports/link.ts";
import { FrameType, PEER_ID_BYTES, decodeFrame } from "../../../../../core/wire/frames.ts";
import { VirtualClock, settle } from "../../../../fixtures/virtual-clock.ts";
import { testCrypto } from "../../../../fixtures/crypto.ts";

/** A direct link that can go dead silently: what is sent on it then is lost. */
class FakeDirectLink {
  dead = false;
  constructor(private readonly deliver: (frame: Uint8Array) => void) {}
  readonly kind = "webrtc" as const;
  readonly remote = "peer";
  readonly bufferedAmount = 0;
  readonly closed = false;
  listen(): void {}
  close(): void {}
  send(frame: Uint8Array): void {
    if (!this.dead) queueMicrotask(() => this.deliver(frame));
  }
}

interface End {
  tunnel: Tunnel;
  /** Whether this end still believes in its direct link. */
  direct: FakeDirectLink | null;
}

function tunnelPair(clock: VirtualClock): { caller: End; member: End } {
  const keys = deriveServiceKeys(testCrypto.signing, "cluster", "files", parseKey(generateKey()));
  const initiator = new SessionHandshake("initiator", keys.payloadKey, "tunnel", testCrypto.secretbox);
  const responder = new SessionHandshake("responder", keys.payloadKey, "tunnel", testCrypto.secretbox);
  const memberCipher = responder.finish(initiator.publicKey);
  const callerCipher = initiator.finish(responder.publicKey);
  // Only the clock is used by a tunnel's own code.
  const ctx = { clock } as unknown as PeerContext;
  const ends: Record<TunnelRole, End> = {} as Record<TunnelRole, End>;
  const deliverTo = (role: TunnelRole) => (bytes: Uint8Array) => {
    const frame = decodeFrame(bytes);
    const tunnel = ends[role].tunnel;
    if (frame.type === FrameType.TunnelData) tunnel.onData(frame.seq, frame.sealed);
    else if (frame.type === FrameType.TunnelCredit) tunnel.onCredit(frame.granted, frame.ack);
    else if (frame.type === FrameType.TunnelClose) tunnel.onClose(frame.code, frame.sent, frame.reason);
  };
  for (const role of ["caller", "member"] as const) {
    const other: TunnelRole = role === "caller" ? "member" : "caller";
    const end: End = { tunnel: null as unknown as Tunnel, direct: new FakeDirectLink(deliverTo(other)) };
    end.tunnel = new Tunnel(ctx, {
      role,
      keys,
      origin: new Uint8Array(PEER_ID_BYTES).fill(1),
      tunnelId: 1,
      remotePeer: other,
      cipher: role === "caller" ? callerCipher : memberCipher,
      sendCredit: DEFAULT_TUNNEL_SETTINGS.window,
      settings: DEFAULT_TUNNEL_SETTINGS,
      routes: {
        relay: async (frame) => queueMicrotask(() => deliverTo(other)(frame)),
        direct: () => end.direct as unknown as Link | null,
      },
      onControl: () => {},
      onEnded: () => {},
    });
    ends[role] = end;
  }
  for (const end of Object.values(ends)) end.tunnel.routeChanged();
  return ends;
}

test("a close confirmed over a direct link that died unnoticed still reaches the caller", async () => {
  const clock = new VirtualClock();
  const { caller, member } = tunnelPair(clock);
  assert.equal(caller.tunnel.route, "direct");
  assert.equal(member.tunnel.route, "direct");
  const received: string[] = [];
  const reading = (async () => {
    for await (const message of member.tunnel) received.push(new TextDecoder().decode(message));
  })();

  await caller.tunnel.send("over the direct link");
  await settle();
  // The caller cuts the link and knows it; the member does not know yet, and its link swallows all.
  caller.direct!.dead = true;
  member.direct!.dead = true;
  caller.direct = null;
  caller.tunnel.routeChanged();
  assert.equal(caller.tunnel.route, "relay");
  await caller.tunnel.send("over the relay");

  let closed: unknown = "pending";
  const closing = caller.tunnel.close().then(
    () => (closed = null),
    (error: unknown) => (closed = error),
  );
  await settle();
  // The member has everything and the close: it confirms by the route it believes in, and is done.
  assert.deepEqual(received, ["over the direct link", "over the relay"]);
  assert.equal(member.tunnel.closed, true);
  // Seconds later its heartbeat finds the link dead.
  await clock.advance(3000);
  member.direct = null;
  member.tunnel.routeChanged();
  await clock.advance(DEFAULT_TUNNEL_SETTINGS.closeTimeout);
  await closing;
  await reading;
  assert.equal(closed, null, `the caller's close: ${String(closed)}`);
});
