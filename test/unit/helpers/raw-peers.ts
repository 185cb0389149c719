// Plumbing for the state-machine fuzz tests: both ends of in-memory links driven by hand.
//
// - GuardedLink wraps the end given to the code under test and catches whatever its handlers throw.
//   Over memory links a throw would otherwise surface as an uncaught exception in a microtask; here it
//   is recorded, so "never throws out of the relay" is an assertion and not a crash.
// - WireEnd is the end a test drives: it records every frame and the close, and sends raw bytes.
// - HonestPeer is a well-behaved peer written by hand: it proves its identity, answers pings, joins a
//   cluster and echoes requests (as a member), or sends requests and checks each reply (as a caller).

import { memoryLinkPair } from "../../../core/transports/memory.ts";
import { LinkWrapper } from "../../../core/transports/link.ts";
import type { Link, LinkHandlers } from "../../../core/transports/link.ts";
import type { Relay } from "../../../core/overlay/relay.ts";
import { signHello, signJoin, peerIdOf } from "../../../core/crypto/keys.ts";
import type { ServiceKeys } from "../../../core/crypto/keys.ts";
import type { SigningKeyPair } from "../../../core/crypto/nacl.ts";
import { equalBytes } from "../../../core/bytes.ts";
import { FrameType, JoinKind, MAX_HOPS, ReplyStatus, decodeFrame, encodeFrame } from "../../../core/wire/frames.ts";
import type { ChallengeFrame, Frame } from "../../../core/wire/frames.ts";

/** A link whose handlers never let an exception out: it is recorded in `thrown` instead. */
export class GuardedLink extends LinkWrapper {
  readonly thrown: unknown[] = [];
  override listen(handlers: LinkHandlers): void {
    this.inner.listen({
      frame: (bytes) => this.guard(() => handlers.frame(bytes)),
      close: (code, reason) => this.guard(() => handlers.close(code, reason)),
    });
  }
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.thrown.push(error);
    }
  }
}

/** The end of a memory link that a test drives by hand. */
export class WireEnd {
  /** Decoded frames received (undecodable ones are kept as null). */
  readonly received: Array<Frame | null> = [];
  closeInfo: { code: number; reason: string } | null = null;
  private readonly listeners = new Set<(frame: Frame) => void>();

  constructor(readonly link: Link) {
    link.listen({
      frame: (bytes) => {
        let frame: Frame | null = null;
        try {
          frame = decodeFrame(bytes.slice());
        } catch {
          // The code under test sent something undecodable; tests look for that as null.
        }
        this.received.push(frame);
        if (frame) for (const listener of [...this.listeners]) listener(frame);
      },
      close: (code, reason) => void (this.closeInfo = { code, reason }),
    });
  }

  get open(): boolean {
    return this.closeInfo === null && !this.link.closed;
  }

  send(bytes: Uint8Array): void {
    this.link.send(bytes);
  }

  sendFrame(frame: Frame): void {
    this.link.send(encodeFrame(frame));
  }

  onFrame(listener: (frame: Frame) => void): void {
    this.listeners.add(listener);
  }

  last<T extends Frame["type"]>(type: T): Extract<Frame, { type: T }> | undefined {
    for (let i = this.received.length - 1; i >= 0; i--) {
      const frame = this.received[i];
      if (frame?.type === type) return frame as Extract<Frame, { type: T }>;
    }
    return undefined;
  }

  has(type: Frame["type"]): boolean {
    return this.received.some((frame) => frame?.type === type);
  }
}

/** Connects a hand-driven end to a relay; the relay's end is guarded. */
export function attach(relay: Relay, address?: string): { end: WireEnd; guarded: GuardedLink } {
  const [client, server] = memoryLinkPair("fuzz-client", "relay");
  const guarded = new GuardedLink(server);
  const end = new WireEnd(client);
  relay.accept(guarded, address);
  return { end, guarded };
}

/** Lets every frame in flight on memory links be delivered and handled (a drain, not a sleep). */
export async function settle(turns = 2): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function helloFor(identity: SigningKeyPair, challenge: ChallengeFrame, agent: string): Frame {
  return { type: FrameType.Hello, identityKey: identity.publicKey, signature: signHello(identity, challenge.relayId, challenge.nonce), agent };
}

/** A peer that follows the protocol, built on a WireEnd. */
export class HonestPeer {
  readonly peerId: Uint8Array;
  private nextReq = 1;
  /** Requests sent and not yet answered, by request id: the body they carried. */
  readonly waiting = new Map<number, Uint8Array>();
  /** Replies that did not match what was asked: wrong status, wrong body, or nothing was asked. */
  readonly wrongReplies: string[] = [];
  answered = 0;

  constructor(
    readonly end: WireEnd,
    readonly identity: SigningKeyPair,
    readonly guarded: GuardedLink,
  ) {
    this.peerId = peerIdOf(identity.publicKey);
    end.onFrame((frame) => this.onFrame(frame));
  }

  static async join(relay: Relay, identity: SigningKeyPair, member?: ServiceKeys): Promise<HonestPeer> {
    const { end, guarded } = attach(relay);
    const peer = new HonestPeer(end, identity, guarded);
    await settle();
    const challenge = end.last(FrameType.Challenge);
    if (!challenge) throw new Error("relay sent no challenge");
    end.sendFrame(helloFor(identity, challenge, "honest"));
    await settle();
    if (!end.has(FrameType.Welcome)) throw new Error("relay did not welcome an honest peer");
    if (member) {
      end.sendFrame({
        type: FrameType.Join,
        corr: 1,
        kind: JoinKind.Member,
        nameHash: member.nameHash,
        publicKey: member.membership.publicKey,
        signature: signJoin(member, challenge.nonce),
      });
      await settle();
      if (!end.has(FrameType.Ack)) throw new Error("relay did not accept an honest member");
    }
    return peer;
  }

  /** Sends a request to cluster `id`; the reply is checked when it arrives. */
  request(id: Uint8Array): void {
    const reqId = this.nextReq++;
    const body = Uint8Array.of(0xbe, 0xef, reqId & 0xff, (reqId >> 8) & 0xff);
    this.waiting.set(reqId, body);
    this.end.sendFrame({ type: FrameType.Request, hops: MAX_HOPS, flags: 0, id, origin: this.peerId, reqId, timeoutMs: 600_000, sealed: body });
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case FrameType.Ping:
        return this.end.sendFrame({ type: FrameType.Pong, stamp: frame.stamp });
      case FrameType.Request:
        // A member: echo the body back to whoever asked.
        return this.end.sendFrame({ type: FrameType.Reply, status: ReplyStatus.Ok, origin: frame.origin, reqId: frame.reqId, body: frame.sealed });
      case FrameType.Reply: {
        const asked = this.waiting.get(frame.reqId);
        if (!asked || !equalBytes(frame.origin, this.peerId) || frame.status !== ReplyStatus.Ok || !equalBytes(frame.body, asked)) {
          this.wrongReplies.push(`reply ${frame.reqId} status ${frame.status}${asked ? "" : " (not asked)"}`);
          return;
        }
        this.waiting.delete(frame.reqId);
        this.answered++;
        return;
      }
    }
  }
}
