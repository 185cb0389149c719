// A peer's link to the backbone: one relay at a time, chosen from a list. It dials, proves the peer's
// identity against the relay's fresh challenge, keeps the link alive with heartbeats, and when the link
// dies it dials again with jittered exponential backoff, moving on to the next relay each time.

import { every } from "../util/clock.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";
import { peerIdOf, signHello } from "../crypto/keys.ts";
import type { SigningBackend, SigningKeyPair } from "../crypto/nacl.ts";
import { equalBytes, toHex } from "../util/bytes.ts";
import { WireError } from "../wire/codec.ts";
import { FrameType, WIRE_VERSION, decodeFrame, encodeFrame } from "../wire/frames.ts";
import type { ChallengeFrame, Frame, WelcomeFrame } from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import { secureLink } from "../transports/secure-link.ts";
import type { NetworkKeys } from "../transports/secure-link.ts";
import type { Dialer, Link } from "../transports/link.ts";

export interface AttachmentOptions {
  relays: string[];
  dialer: Dialer;
  clock: Clock;
  identity: SigningKeyPair;
  signing: SigningBackend;
  agent: string;
  maxFrame: number;
  handshakeTimeoutMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
  random: () => number;
  /** A closed backbone: prove this network key first (see transports/secure-link.ts). */
  networkKeys: NetworkKeys | null;
}

export interface Attached {
  link: Link;
  relay: string;
  relayId: Uint8Array;
  challenge: Uint8Array;
  welcome: WelcomeFrame;
}

export interface Detached {
  relay: string;
  code: number;
  reason: string;
  /** True when the link had completed its handshake before it went. */
  wasAttached: boolean;
}

export interface AttachmentEvents {
  attached(attached: Attached): void;
  frame(frame: Frame, bytes: Uint8Array): void;
  detached(detached: Detached): void;
}

/** Relay heartbeats a peer may miss before it gives the link up. */
const MISSED_HEARTBEATS = 3;
/** Bounds on the heartbeat interval a relay announces (relay-server accepts 10 ms to 600 s). */
const MIN_HEARTBEAT_MS = 10;
const MAX_HEARTBEAT_MS = 600_000;

/** Close codes after which trying again cannot help: this relay refused us on principle. */
const REFUSALS: ReadonlySet<number> = new Set([CloseCode.Version, CloseCode.AuthFailed]);

/** Most relay addresses a peer remembers for failover, configured ones included. */
const MAX_KNOWN_RELAYS = 32;

export class RelayAttachment {
  readonly peerId: Uint8Array;
  /** Where to dial: the configured relays, then ones relays told us about. */
  private readonly relays: string[];
  private current: Link | null = null;
  private attempt = 0;
  private relayIndex = 0;
  private retryTimer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    private readonly options: AttachmentOptions,
    private readonly events: AttachmentEvents,
  ) {
    if (options.relays.length === 0) throw new TypeError("at least one relay address is needed");
    this.relays = [...new Set(options.relays)];
    this.peerId = peerIdOf(options.identity.publicKey);
    this.relayIndex = Math.floor(options.random() * options.relays.length);
  }

  get link(): Link | null {
    return this.current;
  }

  /** Relays this peer may fail over to, in the order it tries them. */
  get knownRelays(): readonly string[] {
    return this.relays;
  }

  /** Remembers relays to fail over to (a relay lists its neighbors); configured ones stay first. */
  learn(addresses: string[]): void {
    for (const address of addresses) {
      if (this.relays.length >= MAX_KNOWN_RELAYS) break;
      if (address && !this.relays.includes(address)) this.relays.push(address);
    }
  }

  start(): void {
    this.dialNext();
  }

  /** Drops the current link on purpose (a dead relay detected by us, or a relay asking us to move). */
  abandon(code: number, reason: string): void {
    this.current?.close(code, reason);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) this.options.clock.clearTimeout(this.retryTimer);
    this.current?.close(CloseCode.Normal, "peer closed");
  }

  private dialNext(): void {
    if (this.stopped) return;
    const relay = this.relays[this.relayIndex % this.relays.length]!;
    this.relayIndex++;
    const { networkKeys: keys, clock, handshakeTimeoutMs } = this.options;
    this.options
      .dialer(relay, { maxFrame: this.options.maxFrame })
      .then(
        (link) => (keys ? secureLink(link, { role: "initiator", keys, clock, timeoutMs: handshakeTimeoutMs }) : link),
        (error: Error) => Promise.reject(Object.assign(error, { closeCode: 1006 })),
      )
      .then(
        (link) => this.handshake(relay, link),
        (error: Error & { closeCode?: number }) =>
          // A relay that hears no valid network-key handshake closes the link: a refusal, like a bad hello.
          this.failed({
            relay,
            code: error.closeCode ?? CloseCode.AuthFailed,
            reason: error.message,
            wasAttached: false,
          }),
      );
  }

  private handshake(relay: string, link: Link): void {
    if (this.stopped) {
      link.close(CloseCode.Normal, "peer closed");
      return;
    }
    const clock = this.options.clock;
    let challenge: ChallengeFrame | null = null;
    let attached = false;
    let lastHeard = clock.now();
    let stopHeartbeat = () => {};
    const timeout = clock.setTimeout(
      () => link.close(CloseCode.HandshakeTimeout, "relay did not complete the handshake"),
      this.options.handshakeTimeoutMs,
    );
    this.current = link;

    link.listen({
      frame: (bytes) => {
        lastHeard = clock.now();
        let frame: Frame;
        try {
          frame = decodeFrame(bytes);
        } catch (error) {
          const message =
            error instanceof WireError && error.reason === "version"
              ? `protocol version mismatch: this peer speaks ${WIRE_VERSION}`
              : (error as Error).message;
          link.close(
            error instanceof WireError && error.reason === "version" ? CloseCode.Version : CloseCode.Protocol,
            message,
          );
          return;
        }
        if (attached) {
          if (frame.type === FrameType.Ping) link.send(encodeFrame({ type: FrameType.Pong, stamp: frame.stamp }));
          else if (frame.type !== FrameType.Pong) this.events.frame(frame, bytes);
          return;
        }
        if (!challenge && frame.type === FrameType.Challenge) {
          challenge = frame;
          const signature = signHello(this.options.signing, this.options.identity, frame.relayId, frame.nonce);
          link.send(
            encodeFrame({
              type: FrameType.Hello,
              identityKey: this.options.identity.publicKey,
              signature,
              agent: this.options.agent,
            }),
          );
          return;
        }
        if (challenge && frame.type === FrameType.Welcome) {
          if (!equalBytes(frame.peerId, this.peerId)) {
            link.close(CloseCode.Protocol, `relay assigned peer id ${toHex(frame.peerId)}, expected ours`);
            return;
          }
          clock.clearTimeout(timeout);
          attached = true;
          this.attempt = 0;
          // The relay pings every heartbeatMs; silence for a few of them means the link is dead even if
          // the socket has not noticed.
          // The relay's interval, within the range relays may be configured with: 0 would make this
          // timer spin, and from 2^31 ms on timers fire at once and a dead relay would go unnoticed.
          const heartbeatMs = Math.min(Math.max(frame.heartbeatMs, MIN_HEARTBEAT_MS), MAX_HEARTBEAT_MS);
          stopHeartbeat = every(clock, heartbeatMs, () => {
            const silence = clock.now() - lastHeard;
            if (silence > heartbeatMs * MISSED_HEARTBEATS) {
              link.close(CloseCode.HeartbeatTimeout, `relay silent for ${silence} ms`);
            }
          });
          this.events.attached({ link, relay, relayId: challenge.relayId, challenge: challenge.nonce, welcome: frame });
          return;
        }
        link.close(CloseCode.Protocol, `unexpected frame ${frame.type} during handshake`);
      },
      close: (code, reason) => {
        clock.clearTimeout(timeout);
        stopHeartbeat();
        if (this.current === link) this.current = null;
        this.failed({ relay, code, reason, wasAttached: attached });
      },
    });
  }

  private failed(detached: Detached): void {
    this.events.detached(detached);
    if (this.stopped) return;
    // Full jitter: a random delay up to an exponentially growing cap keeps a crowd of peers that lost
    // the same relay from coming back in lockstep.
    const cap = Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const delay = REFUSALS.has(detached.code) ? this.options.maxDelayMs : this.options.random() * cap;
    this.retryTimer = this.options.clock.setTimeout(() => {
      this.retryTimer = null;
      this.dialNext();
    }, delay);
  }
}
