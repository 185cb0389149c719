// Direct links between two werift peers in this process, set up by the connector over in-process
// signaling, on 127.0.0.1 only: the Link contract, a multi-MiB transfer, forced failures, and the
// connector's own failure paths.

import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClosedError, ProtocolError, TimeoutError } from "../../core/errors.ts";
import { CloseCode } from "../../core/transports/link.ts";
import { connectWebRtc, parseCandidate } from "../../core/transports/webrtc.ts";
import { weriftPeerConnectionFactory } from "../../core/transports/webrtc.node.ts";
import type { PeerConnectionLike, WebRtcSignal } from "../../core/transports/webrtc.ts";
import { recordLink, sendWithBackpressure, sha256, testBytes, testChunks, within } from "../fixtures/link-recorder.ts";
import {
  connectPair,
  LocalSignaling,
  LOOPBACK,
  loopbackOnly,
  loopbackWerift,
  recording,
} from "../fixtures/webrtc-peers.ts";
import type { PeerPair } from "../fixtures/webrtc-peers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every peer connection a test made is closed by the connector itself once its link is done. */
async function allClosed(pcs: PeerConnectionLike[]): Promise<void> {
  await within(
    new Promise<void>((resolve) => {
      const check = () => (pcs.every((pc) => pc.connectionState === "closed") ? resolve() : setTimeout(check, 5));
      check();
    }),
    5_000,
    `peer connections closed (${pcs.map((pc) => pc.connectionState).join(", ")})`,
  );
}

const pairs: PeerPair[] = [];
async function pair(options: Parameters<typeof connectPair>[0] = {}): Promise<PeerPair> {
  const made = await within(connectPair(options), 15_000, "two werift peers to connect");
  pairs.push(made);
  return made;
}

afterEach(async () => {
  for (const made of pairs.splice(0)) {
    made.a.close();
    made.b.close();
    await allClosed(made.peerConnections);
  }
});

describe("WebRTC links between werift peers on 127.0.0.1", () => {
  test("only 127.0.0.1 candidates are signaled, in descriptions and trickled", async () => {
    const { signaling } = await pair();
    const candidates: string[] = [];
    for (const signal of [...signaling.signals.a, ...signaling.signals.b]) {
      if (signal.type === "candidate") candidates.push(signal.candidate);
      if (signal.type === "offer" || signal.type === "answer") {
        for (const line of signal.sdp.split(/\r?\n/)) if (line.startsWith("a=candidate:")) candidates.push(line);
      }
    }
    assert.ok(candidates.length >= 2, `candidates: ${candidates.join(" | ")}`);
    for (const candidate of candidates) assert.equal(parseCandidate(candidate)?.address, LOOPBACK, candidate);
    assert.deepEqual(
      [...signaling.signals.a, ...signaling.signals.b]
        .filter((s) => s.type === "offer" || s.type === "answer")
        .map((s) => s.type),
      ["offer", "answer"],
    );
  });

  test("the DTLS fingerprints each side saw match what the other side sent", async () => {
    const { attempts } = await pair();
    assert.ok(attempts.a.localFingerprints.length > 0);
    assert.deepEqual(attempts.b.remoteFingerprints, attempts.a.localFingerprints);
    assert.deepEqual(attempts.a.remoteFingerprints, attempts.b.localFingerprints);
    assert.match(attempts.a.localFingerprints[0]!, /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test("frames from 0 bytes to 1 MiB arrive in order and intact, both ways", async () => {
    const { a, b } = await pair();
    const atA = recordLink(a);
    const atB = recordLink(b);
    const frames = [
      new Uint8Array(0),
      Uint8Array.of(7),
      testBytes(16 * KiB - 1, 1),
      testBytes(16 * KiB, 2),
      testBytes(16 * KiB + 1, 3),
      ...Array.from({ length: 300 }, (_, i) => testBytes(1 + (i % 40), 100 + i)),
      testBytes(MiB, 4),
      new Uint8Array(0),
    ];
    for (const frame of frames) a.send(frame);
    const replies = frames.slice(0, 40).reverse();
    for (const frame of replies) b.send(frame);
    await within(Promise.all([atB.until(frames.length), atA.until(replies.length)]), 20_000, "frames both ways");
    assert.deepEqual(atB.frames, frames);
    assert.deepEqual(atA.frames, replies);
  });

  test("channel messages fit the size the two ends negotiated (one of them accepting only 16 KiB)", async () => {
    const small = weriftPeerConnectionFactory({
      additionalHostAddresses: [LOOPBACK],
      restrictToAddresses: [LOOPBACK],
      useIpv6: false,
      config: { maxMessageSize: 16 * KiB },
    });
    const { a, b, channels } = await pair({ factories: { a: loopbackWerift(), b: small } });
    // Message sizes as a's channel sends and receives them (the responder's channel object is wrapped
    // anew for each listener, so b's are counted where they arrive). werift itself refuses to send a
    // message over the other end's limit.
    const sizes = { a: [] as number[], b: [] as number[] };
    const channel = channels.a[0]!;
    const send = channel.send.bind(channel);
    channel.send = (data) => {
      sizes.a.push(data.length);
      send(data);
    };
    channel.addEventListener("message", (event: { data: Uint8Array | ArrayBuffer }) =>
      sizes.b.push(event.data.byteLength),
    );
    const atA = recordLink(a);
    const atB = recordLink(b);
    const frames = [testBytes(MiB, 1), testBytes(100 * KiB, 2)];
    for (const frame of frames) a.send(frame);
    for (const frame of frames) b.send(frame);
    await within(Promise.all([atB.until(2), atA.until(2)]), 20_000, "frames both ways");
    assert.deepEqual(atB.frames, frames);
    assert.deepEqual(atA.frames, frames);
    for (const side of ["a", "b"] as const)
      assert.equal(Math.max(...sizes[side]), 16 * KiB, `${side}'s largest message`);
  });

  test("werift loads on demand, and its factory connects", async () => {
    const { weriftPeerConnections } = await import("../../core/transports/werift-loader.node.ts");
    const options = { additionalHostAddresses: [LOOPBACK], restrictToAddresses: [LOOPBACK], useIpv6: false };
    const { a, b } = await pair({
      factories: { a: await weriftPeerConnections(options), b: await weriftPeerConnections(options) },
    });
    const atB = recordLink(b);
    a.send(Uint8Array.of(1, 2, 3));
    await within(atB.until(1), 5_000, "one frame");
    assert.deepEqual(atB.frames, [Uint8Array.of(1, 2, 3)]);
  });

  test("frames sent before the other end listens are delivered once it does", async () => {
    const { a, b } = await pair();
    const atA = recordLink(a);
    a.send(Uint8Array.of(1));
    a.send(Uint8Array.of(2, 2));
    // b is not listening, so nothing can be awaited on it; a's bufferedAmount reaching 0 means werift
    // handed both to SCTP. Whether or not they arrived yet, they must all come out of listen().
    while (a.bufferedAmount > 0) await new Promise((resolve) => setTimeout(resolve, 2));
    const atB = recordLink(b);
    await within(atB.until(2), 5_000, "two frames");
    assert.deepEqual(atB.frames, [Uint8Array.of(1), Uint8Array.of(2, 2)]);
    assert.equal(atA.closes.length, 0);
  });

  for (const closer of ["a", "b"] as const) {
    test(`close(code, reason) by ${closer} reaches both ends once, after everything it sent`, async () => {
      const made = await pair();
      const atA = recordLink(made.a);
      const atB = recordLink(made.b);
      const [closing, far] = closer === "a" ? [made.a, atB] : [made.b, atA];
      const sent = Array.from({ length: 24 }, (_, i) => testBytes(100 * KiB + i, i));
      for (const frame of sent) closing.send(frame);
      closing.close(CloseCode.Replaced, "replaced by a test");
      assert.equal(closing.closed, true);
      assert.doesNotThrow(() => closing.send(Uint8Array.of(1)));
      // 2.4 MB through werift's SCTP in JavaScript: seconds on a busy machine (over 10 s at a load of 16).
      assert.deepEqual(await within(far.closed, 30_000, "close at the far end"), {
        code: CloseCode.Replaced,
        reason: "replaced by a test",
      });
      assert.equal(far.frames.length, sent.length, "every frame sent before close arrived");
      assert.equal(sha256(...far.frames), sha256(...sent));
      assert.equal(far.order.at(-1), "close");
      await allClosed(made.peerConnections);
      assert.equal(atA.closes.length + atB.closes.length, 2);
    });
  }

  test("8 MiB arrive byte-exact (SHA-256) with backpressure, and bufferedAmount stays sane", async () => {
    const { a, b } = await pair();
    const atB = recordLink(b, { keep: false });
    const total = 8 * MiB;
    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, a.bufferedAmount)), 1);
    try {
      await sendWithBackpressure(a, testChunks(total, 64 * KiB, 1000));
      await within(atB.untilBytes(total), 60_000, "8 MiB");
    } finally {
      clearInterval(sampler);
    }
    assert.equal(atB.digest(), sha256(...testChunks(total, 64 * KiB, 1000)));
    assert.ok(maxBuffered > 0 && maxBuffered < 4 * MiB, `max bufferedAmount ${maxBuffered}`);
  });

  test("closing the sender's data channel mid-transfer is reported as 1006 at both ends", async () => {
    const made = await pair();
    const atA = recordLink(made.a);
    const atB = recordLink(made.b, { keep: false });
    const sending = sendWithBackpressure(made.a, testChunks(16 * MiB, 64 * KiB, 1));
    await within(atB.untilBytes(MiB), 20_000, "the first MiB");
    made.channels.a[0]!.close();
    const [atAClose, atBClose] = await within(Promise.all([atA.closed, atB.closed]), 10_000, "both close reports");
    await sending;
    assert.equal(atAClose.code, 1006);
    assert.equal(atBClose.code, 1006);
    assert.match(atBClose.reason, /without end of stream/);
    assert.ok(atB.bytes < 16 * MiB, `received ${atB.bytes}`);
    await allClosed(made.peerConnections);
  });

  test("closing the receiver's peer connection mid-transfer is reported to its close handler", async () => {
    // a never hears back once b is gone, so its close() below gives up after closeTimeout.
    const made = await pair({ link: { closeTimeout: 500 } });
    recordLink(made.a);
    const atB = recordLink(made.b, { keep: false });
    void sendWithBackpressure(made.a, testChunks(16 * MiB, 64 * KiB, 1));
    await within(atB.untilBytes(MiB), 20_000, "the first MiB");
    void made.peerConnections[1]!.close();
    const event = await within(atB.closed, 10_000, "b's close report");
    assert.equal(event.code, 1006);
    assert.match(event.reason, /\w/);
    // werift's close() does not tell the other side; a learns of it from ICE consent expiry (about
    // 30 s) or from the heartbeats above the link, so a is closed here by afterEach.
  });
});

describe("the WebRTC connector's failure paths", () => {
  test("no answer within the timeout: TimeoutError, the peer connection is closed, the other side is told", async () => {
    const made = recording(loopbackWerift());
    const sent: WebRtcSignal[] = [];
    const attempt = connectWebRtc({
      role: "initiator",
      peerConnection: made.factory,
      signaling: { send: (s) => sent.push(s) },
      timeout: 300,
      candidateFilter: loopbackOnly,
    });
    await assert.rejects(within(attempt.link, 5_000, "the timeout"), TimeoutError);
    assert.equal(sent.at(-1)?.type, "abort");
    await allClosed(made.peerConnections);
  });

  test("abort() on one side fails both attempts with ClosedError", async () => {
    const signaling = new LocalSignaling();
    const a = recording(loopbackWerift());
    const b = recording(loopbackWerift());
    const controller = new AbortController();
    const attemptA = connectWebRtc({
      role: "initiator",
      peerConnection: a.factory,
      signaling: signaling.sender("a"),
      signal: controller.signal,
    });
    const attemptB = connectWebRtc({ role: "responder", peerConnection: b.factory, signaling: signaling.sender("b") });
    signaling.attach("a", attemptA);
    signaling.attach("b", attemptB);
    controller.abort("changed my mind");
    await assert.rejects(within(attemptA.link, 5_000, "a"), ClosedError);
    await assert.rejects(within(attemptB.link, 5_000, "b"), /the other side gave up: .*changed my mind/);
    await allClosed([...a.peerConnections, ...b.peerConnections]);
  });

  test("checkRemote refusing the answer's fingerprint fails the attempt", async () => {
    const signaling = new LocalSignaling();
    const a = recording(loopbackWerift());
    const b = recording(loopbackWerift());
    const attemptA = connectWebRtc({
      role: "initiator",
      peerConnection: a.factory,
      signaling: signaling.sender("a"),
      candidateFilter: loopbackOnly,
      checkRemote: (fingerprints) => {
        throw new ProtocolError(`unexpected certificate ${fingerprints[0]}`);
      },
    });
    const attemptB = connectWebRtc({
      role: "responder",
      peerConnection: b.factory,
      signaling: signaling.sender("b"),
      candidateFilter: loopbackOnly,
    });
    signaling.attach("a", attemptA);
    signaling.attach("b", attemptB);
    await assert.rejects(within(attemptA.link, 5_000, "a"), ProtocolError);
    await assert.rejects(within(attemptB.link, 5_000, "b"), /gave up: unexpected certificate/);
    await allClosed([...a.peerConnections, ...b.peerConnections]);
  });

  test("a malformed signal fails the attempt with ProtocolError", async () => {
    const made = recording(loopbackWerift());
    const attempt = connectWebRtc({ role: "responder", peerConnection: made.factory, signaling: { send: () => {} } });
    attempt.receive({ type: "candidate", candidate: "candidate:garbage" });
    await assert.rejects(within(attempt.link, 5_000, "refusal"), ProtocolError);
    await allClosed(made.peerConnections);
  });

  test("an answer sent to a responder is refused", async () => {
    const made = recording(loopbackWerift());
    const attempt = connectWebRtc({ role: "responder", peerConnection: made.factory, signaling: { send: () => {} } });
    attempt.receive({ type: "answer", sdp: "v=0\r\na=fingerprint:sha-256 00:11\r\n" });
    await assert.rejects(within(attempt.link, 5_000, "refusal"), /unexpected answer for the responder/);
    await allClosed(made.peerConnections);
  });
});
