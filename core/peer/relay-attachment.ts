// A peer's link to the backbone: one relay at a time, chosen from a list. It dials, proves the peer's
// identity against the relay's fresh challenge, watches the link for silence, and when the link dies it
// dials again with jittered exponential backoff, moving on to the next relay each time.

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
import { Liveness } from "../transports/liveness.ts";
import type { Watchdog } from "../transports/liveness.ts";
import { PendingDrop } from "./pending-drop.ts";
import type { Drop } from "./pending-drop.ts";

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
  /** Any link gone, attached or not, at once: the connection's state follows it. */
  detached(detached: Detached): void;
  /** An attached link gone, with the reason as best known: at once, or moments later (pending-drop.ts). */
  dropped(drop: Drop): void;
}

/**
 * The relay announces its heartbeat H: it pings a link of ours silent for H (and a little more), and
 * closes it silent for 3 H. The peer watches the relay on the same scale: it pings a relay silent for
 * 1.5 H, so that on an idle link the relay's ping comes first and one exchange serves both ends, and
 * gives the link up when the relay has been silent for 3 H. A stall of 10 s at either end then costs
 * no link with the default H of 20 s.
 */
const PING_AFTER_HEARTBEATS = 1.5;
const MISSED_HEARTBEATS = 3;
/** Bounds on the heartbeat interval a relay announces (relay-server accepts 1 s to 600 s). */
const MIN_HEARTBEAT_MS = 10;
const MAX_HEARTBEAT_MS = 600_000;
/** The watchdog looks at the link this many times per heartbeat, and at least once a second. */
const LOOKS_PER_HEARTBEAT = 8;

/**
 * Close codes after which trying again soon cannot help: this relay refused us on principle, or has no
 * room for our address. The next try waits the longest backoff.
 */
const REFUSALS: ReadonlySet<number> = new Set([CloseCode.Version, CloseCode.AuthFailed, CloseCode.Limit]);

/** A link that ended with this code was lost without a close: its relay may have reset it on purpose. */
const LOST = 1006;

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
  private readonly pendingDrop: PendingDrop;
  /** The relay the current one named first in its last list of others. */
  private suggested: string | null = null;

  constructor(
    private readonly options: AttachmentOptions,
    private readonly events: AttachmentEvents,
  ) {
    this.pendingDrop = new PendingDrop(options.clock, (drop) => events.dropped(drop));
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

  /**
   * Remembers relays to fail over to (a relay lists its neighbors); configured ones stay first. The
   * first one named is where to go should this relay ask us to move.
   */
  learn(addresses: string[]): void {
    for (const address of addresses) {
      if (this.relays.length >= MAX_KNOWN_RELAYS) break;
      if (address && !this.relays.includes(address)) this.relays.push(address);
    }
    this.suggested = addresses.find((address) => this.relays.includes(address)) ?? null;
  }

  /** The relay asked us to move (it is draining): go to the relay it named first, if it named one. */
  move(code: number, reason: string): void {
    const next = this.suggested === null ? -1 : this.relays.indexOf(this.suggested);
    if (next >= 0) this.relayIndex = next;
    this.current?.close(code, reason);
  }

  start(): void {
    this.dialNext();
  }

  /**
   * Stops for good: closes the link in good order (what was sent goes first) and resolves once the
   * relay has confirmed the close, which it does after reading everything before it, or after
   * `graceMs` if it does not.
   */
  stop(graceMs = 0): Promise<void> {
    this.stopped = true;
    this.pendingDrop.discard();
    if (this.retryTimer !== null) this.options.clock.clearTimeout(this.retryTimer);
    const link = this.current;
    if (!link) return Promise.resolve();
    link.close(CloseCode.Normal, "peer closed");
    const { clock } = this.options;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(resolve, graceMs);
      link.whenDone().then(() => {
        clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  private dialNext(): void {
    if (this.stopped) return;
    const relay = this.relays[this.relayIndex % this.relays.length]!;
    this.relayIndex++;
    const { networkKeys: keys, clock, handshakeTimeoutMs } = this.options;
    // A dial that neither connects nor fails (a host that drops packets) is given up like a handshake.
    const abort = new AbortController();
    const dialTimer = clock.setTimeout(
      () => abort.abort(new Error(`no connection to ${relay} within ${handshakeTimeoutMs} ms`)),
      handshakeTimeoutMs,
    );
    this.options
      .dialer(relay, { maxFrame: this.options.maxFrame, signal: abort.signal })
      .finally(() => clock.clearTimeout(dialTimer))
      .then(
        (link) => (keys ? secureLink(link, { role: "initiator", keys, clock, timeoutMs: handshakeTimeoutMs }) : link),
        (error: Error) => Promise.reject(Object.assign(error, { closeCode: LOST })),
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
    let liveness: Liveness | null = null;
    let watchdog: Watchdog | null = null;
    const timeout = clock.setTimeout(
      () => link.close(CloseCode.HandshakeTimeout, "relay did not complete the handshake"),
      this.options.handshakeTimeoutMs,
    );
    this.current = link;

    link.listen({
      frame: (bytes) => {
        watchdog?.heard();
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
          // The relay's interval, within the range relays may be configured with: 0 would make the
          // watchdog spin, and from 2^31 ms on timers fire at once and a dead relay would go unnoticed.
          const heartbeatMs = Math.min(Math.max(frame.heartbeatMs, MIN_HEARTBEAT_MS), MAX_HEARTBEAT_MS);
          liveness = new Liveness(clock, {
            tickMs: Math.min(1000, heartbeatMs / LOOKS_PER_HEARTBEAT),
            random: this.options.random,
          });
          watchdog = liveness.watch(
            { pingAfterMs: heartbeatMs * PING_AFTER_HEARTBEATS, deadAfterMs: heartbeatMs * MISSED_HEARTBEATS },
            {
              ping: () => link.send(encodeFrame({ type: FrameType.Ping, stamp: clock.now() })),
              dead: (silent) => link.close(CloseCode.HeartbeatTimeout, `relay silent for ${Math.round(silent)} ms`),
            },
          );
          // The drop this dial asked about goes first: the relay had nothing to say about it.
          this.pendingDrop.settle();
          this.events.attached({ link, relay, relayId: challenge.relayId, challenge: challenge.nonce, welcome: frame });
          return;
        }
        link.close(CloseCode.Protocol, `unexpected frame ${frame.type} during handshake`);
      },
      close: (code, reason) => {
        clock.clearTimeout(timeout);
        liveness?.stop();
        if (this.current === link) this.current = null;
        if (attached) this.linkGone({ relay, code, reason });
        else if (this.pendingDrop.relay === relay) {
          // The relay answers the dial that asks why the previous link was reset with the reason.
          if (code !== LOST) this.pendingDrop.answer(code, reason);
          else this.pendingDrop.settle();
        }
        this.failed({ relay, code, reason, wasAttached: attached });
      },
    });
  }

  /**
   * An attached link is gone. Closed with a reason, the drop is reported now; lost without one, the
   * relay may have reset it on purpose: the next dial goes to that relay, to ask why.
   */
  private linkGone(drop: Drop): void {
    if (drop.code !== LOST || this.stopped) return this.events.dropped(drop);
    this.pendingDrop.hold(drop);
    this.relayIndex = this.relays.indexOf(drop.relay);
  }

  private failed(detached: Detached): void {
    this.events.detached(detached);
    if (!detached.wasAttached && this.pendingDrop.relay === detached.relay) this.pendingDrop.settle();
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
