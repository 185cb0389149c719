// The dialing side of relay links: dials at most a few relays at once, backs off from ones that failed,
// and runs the dialer's half of the relay handshake. The accepting half is the relay's peer handshake
// followed by Backbone.adopt, so only this half needs a state machine of its own.

import { equalBytes, randomBytes, toHex } from "../util/bytes.ts";
import { peerIdOf, signHello, verifyRelayWelcome } from "../crypto/keys.ts";
import { FrameType, NONCE_BYTES, RELAY_HELLO_NEEDED, decodeFrame, encodeFrame } from "../wire/frames.ts";
import type { Frame, RelayEntry } from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import type { Link } from "../transports/link.ts";
import { secureLink } from "../transports/secure-link.ts";
import type { NetworkKeys } from "../transports/secure-link.ts";
import type { Clock } from "../util/clock.ts";
import type { SigningBackend, SigningKeyPair } from "../crypto/nacl.ts";
import type { Dialer } from "../transports/link.ts";
import type { RelayLink } from "./relay-link.ts";
import type { KnownRelay } from "./routing-table.ts";

/** A relay that failed a dial is left alone this long, doubling per failure. */
const DIAL_BACKOFF_MS = 2000;
const DIAL_BACKOFF_MAX_MS = 60_000;
/** Dials in flight at once. */
const DIAL_CONCURRENCY = 4;

/** What the dialing side needs to know; the backbone's options include all of it. */
export interface RelayDialerOptions {
  relayId: Uint8Array;
  identity: SigningKeyPair;
  signing: SigningBackend;
  /** Where other relays and peers reach this relay. */
  address: string;
  dialer: Dialer | null;
  clock: Clock;
  random: () => number;
  maxFrame: number;
  handshakeTimeoutMs: number;
  /** A closed backbone: links prove the network key and are sealed (see transports/secure-link.ts). */
  networkKeys: NetworkKeys | null;
  log(event: string, fields: Record<string, string | number | boolean>): void;
}

export interface RelayDialerHost {
  /** Whether a link to `relayId` would be this relay's only one into that relay's bucket. */
  needs(relayId: Uint8Array): boolean;
  /** Relays a full relay suggested instead of itself. */
  learn(entries: RelayEntry[]): void;
  /** The other relay proved it is `known`: make the link a relay link (null when it is refused). */
  linked(link: Link, known: KnownRelay): RelayLink | null;
  onFrame(link: RelayLink, bytes: Uint8Array): void;
  /** The link's outbound buffer emptied (flow control). */
  onDrain(link: RelayLink): void;
  onClose(link: RelayLink): void;
}

export class RelayDialer {
  private readonly dialing = new Set<string>();
  private readonly failures = new Map<string, { until: number; backoff: number }>();
  private stopped = false;

  constructor(
    private readonly options: RelayDialerOptions,
    private readonly host: RelayDialerHost,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  /** How many more dials may start now. */
  get room(): number {
    return Math.max(0, DIAL_CONCURRENCY - this.dialing.size);
  }

  /** Keys (addresses and relay ids) not to dial now: dials in flight, and relays backing off after failures. */
  unavailable(now: number, known: KnownRelay[]): Set<string> {
    const unavailable = new Set<string>(this.dialing);
    for (const [key, failure] of this.failures) {
      if (failure.until > now) unavailable.add(key);
    }
    for (const relay of known) if (this.dialing.has(relay.address)) unavailable.add(relay.hex);
    return unavailable;
  }

  /** A link to `known` is up, whichever side dialed: its past failures no longer count. */
  succeeded(known: KnownRelay): void {
    this.failures.delete(known.hex);
    this.failures.delete(known.address);
  }

  /** Dials a relay (a seed, or one the routing table wants). */
  dial(address: string, expected?: KnownRelay): void {
    const dialer = this.options.dialer;
    if (!dialer || this.stopped || this.dialing.has(address)) return;
    this.dialing.add(address);
    const { networkKeys: keys, clock, handshakeTimeoutMs } = this.options;
    dialer(address, { maxFrame: this.options.maxFrame })
      .then((link) =>
        keys ? secureLink(link, { role: "initiator", keys, clock, timeoutMs: handshakeTimeoutMs }) : link,
      )
      .then(
        (link) => this.handshake(address, link, expected),
        (error: Error) => this.dialFailed(address, expected, error.message),
      );
  }

  private handshake(address: string, link: Link, expected: KnownRelay | undefined): void {
    const { clock } = this.options;
    const nonce = randomBytes(NONCE_BYTES);
    let step: "challenge" | "welcome" | "relay-welcome" | "done" = "challenge";
    let relayId: Uint8Array | null = null;
    let established: RelayLink | null = null;
    const timer = clock.setTimeout(
      () => link.close(CloseCode.HandshakeTimeout, "relay handshake timed out"),
      this.options.handshakeTimeoutMs,
    );
    link.listen({
      frame: (bytes) => {
        if (established) return this.host.onFrame(established, bytes);
        let frame: Frame;
        try {
          frame = decodeFrame(bytes);
        } catch (error) {
          return link.close(CloseCode.Protocol, (error as Error).message);
        }
        if (step === "challenge" && frame.type === FrameType.Challenge) {
          relayId = frame.relayId.slice();
          const signature = signHello(this.options.signing, this.options.identity, frame.relayId, frame.nonce);
          link.send(
            encodeFrame({
              type: FrameType.Hello,
              identityKey: this.options.identity.publicKey,
              signature,
              agent: "relay",
            }),
          );
          step = "welcome";
        } else if (step === "welcome" && frame.type === FrameType.Welcome) {
          // We need this link when it would be our only one into the other relay's bucket.
          const needed = this.host.needs(relayId!);
          link.send(
            encodeFrame({
              type: FrameType.RelayHello,
              flags: needed ? RELAY_HELLO_NEEDED : 0,
              address: this.options.address,
              nonce,
            }),
          );
          step = "relay-welcome";
        } else if (step === "relay-welcome" && frame.type === FrameType.RelayWelcome) {
          const proven =
            relayId !== null &&
            equalBytes(peerIdOf(frame.identityKey), relayId) &&
            verifyRelayWelcome(this.options.signing, frame.identityKey, frame.signature, nonce, this.options.relayId);
          if (!proven) return link.close(CloseCode.AuthFailed, "relay did not prove its identity");
          clock.clearTimeout(timer);
          step = "done";
          this.dialing.delete(address);
          const known: KnownRelay = { id: relayId!, hex: toHex(relayId!), address: frame.address || address };
          if (known.hex === toHex(this.options.relayId)) return link.close(CloseCode.Normal, "dialed ourselves");
          established = this.host.linked(link, known);
        } else if (frame.type === FrameType.Relays) {
          // A full relay tells us whom to try instead before it closes.
          this.host.learn(frame.relays);
        } else if (step !== "challenge" && (frame.type === FrameType.Ping || frame.type === FrameType.Pong)) {
          // The other relay pings every link that has said hello, as this one did a round trip before
          // its RelayHello: a heartbeat may arrive mid-handshake, and is no reason to give up.
        } else {
          link.close(CloseCode.Protocol, `unexpected frame ${frame.type} in the relay handshake`);
        }
      },
      drain: () => {
        if (established) this.host.onDrain(established);
      },
      close: (code, reason) => {
        clock.clearTimeout(timer);
        if (established) return this.host.onClose(established);
        this.dialFailed(address, expected, `${code} ${reason}`);
      },
    });
  }

  private dialFailed(address: string, expected: KnownRelay | undefined, reason: string): void {
    this.dialing.delete(address);
    if (this.stopped) return;
    const key = expected?.hex ?? address;
    const previous = this.failures.get(key);
    const backoff = Math.min(DIAL_BACKOFF_MAX_MS, previous ? previous.backoff * 2 : DIAL_BACKOFF_MS);
    this.failures.set(key, { until: this.options.clock.now() + backoff * (0.5 + this.options.random()), backoff });
    this.options.log("relay-dial-failed", { address, reason });
  }
}
