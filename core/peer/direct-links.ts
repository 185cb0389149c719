// Direct links: WebRTC data channels between two peers, bootstrapped through the relays. A peer keeps
// at most one per other peer, and a bounded number in all (a cache, not a full mesh: browsers cap the
// peer connections a page may hold). Tunnels between the two peers move onto the link while it is up.
//
// Signaling needs no trust in the relays: signals travel inside a tunnel between the two peers, sealed
// with the tunnel's session keys, so a relay can neither read nor alter the SDP, and the DTLS
// fingerprints in it bind the data channel to the peer at the other end of the tunnel.

import type { Clock } from "../util/clock.ts";
import { every } from "../util/clock.ts";
import { Emitter } from "../util/events.ts";
import { CloseCode } from "../transports/link.ts";
import type { Link } from "../transports/link.ts";
import { Liveness } from "../transports/liveness.ts";
import type { Watchdog } from "../transports/liveness.ts";
import { connectWebRtc, parseSignal } from "../transports/webrtc.ts";
import type {
  CandidateFilter,
  IceServer,
  PeerConnectionFactory,
  WebRtcAttempt,
  WebRtcSignal,
} from "../transports/webrtc.ts";
import { decodeFrame, encodeFrame, FrameType } from "../wire/frames.ts";
import type { Frame } from "../wire/frames.ts";
import type { DirectRoutes } from "./patterns/context.ts";

/**
 * Settings of direct WebRTC links to other peers, which tunnels (and requests that keep landing on one
 * member) move onto when both ends can make them: the `webrtc` option of connect().
 *
 * @example
 * ```ts
 * const conn = await connect({
 *   relays,
 *   keys,
 *   webrtc: { iceServers: [{ urls: "stun:stun.example.com:3478" }], maxLinks: 8 },
 * });
 * ```
 */
export interface DirectLinkOptions {
  /** STUN and TURN servers. None by default: host candidates only. */
  iceServers?: IceServer[];
  /**
   * Which ICE candidates to use; all by default. `onlyAddresses(["127.0.0.1"])` keeps a link on loopback.
   */
  candidateFilter?: CandidateFilter;
  /** Most direct links at once; past it the least recently opened one goes. Default 32. */
  maxLinks?: number;
  /** How long setting up one link may take. Default 15 s. */
  connectTimeout?: number;
  /**
   * Each end pings the other this often; a link silent three times as long is dropped (its tunnels and
   * requests go on through the relays). Silence is counted while this page or process runs: time it
   * spent stalled is not held against the other end. Default 1 s.
   */
  heartbeatInterval?: number;
}

/** Direct-link settings with the RTCPeerConnection to make links with: the page's own, or werift's in Node. */
export interface DirectLinkSettings extends DirectLinkOptions {
  /** Makes RTCPeerConnections: the page's own in browsers, werift's in Node. */
  peerConnection: PeerConnectionFactory;
}

export interface DirectLinkEvents {
  /** A direct link to `peerId` opened or closed. */
  direct: { peerId: string; open: boolean };
}

/** Sends a signal to the other peer (inside a tunnel). */
export type SignalSender = (signal: WebRtcSignal) => void;

interface Entry {
  link: Link;
  watchdog: Watchdog;
  /** The link's queue at the last liveness check, to tell a slow reader from a dead one. */
  queuedAtCheck: number;
  since: number;
}

/** After a failed attempt, a peer is left alone this long before trying again. */
const RETRY_AFTER_MS = 60_000;
const MISSED_HEARTBEATS = 3;
/** The watchdogs are looked at this many times per heartbeat interval. */
const LOOKS_PER_HEARTBEAT = 4;

export class DirectLinks extends Emitter<DirectLinkEvents> implements DirectRoutes {
  private readonly links = new Map<string, Entry>();
  private readonly attempts = new Map<string, { attempt: WebRtcAttempt; role: "initiator" | "responder" }>();
  private readonly failedAt = new Map<string, number>();
  private readonly maxLinks: number;
  /**
   * Silence is counted in awake time, as on relay links: a page or process that was itself stalled (a
   * long task, a busy CPU, a throttled background tab) does not drop its links for the time it could
   * not hear them, nor blame peers whose frames were waiting, unread, in its own sockets.
   */
  private readonly liveness: Liveness;
  private readonly heartbeatMs: number;
  private readonly stopKeepalive: () => void;

  constructor(
    private readonly settings: DirectLinkSettings,
    private readonly clock: Clock,
    /** This peer's id, hex: the tie-breaker when two peers start a link to each other at once. */
    private readonly self: string,
    /** A frame that arrived on the direct link from `peerId`. */
    private readonly onFrame: (peerId: string, frame: Frame) => void,
  ) {
    super();
    this.maxLinks = settings.maxLinks ?? 32;
    this.heartbeatMs = settings.heartbeatInterval ?? 1000;
    this.liveness = new Liveness(clock, { tickMs: this.heartbeatMs / LOOKS_PER_HEARTBEAT });
    // Each end pings every interval whatever it hears, so that the other always hears from it. A link
    // often carries bulk data one way (a file through a tunnel, whose credit goes back by the relays):
    // the receiver hears plenty and the sender nothing, and the sender's own pings, and so their pongs,
    // wait behind megabytes of its data. Only the receiver's pings reach it in time.
    this.stopKeepalive = every(clock, this.heartbeatMs, () => this.keepalive());
  }

  /** The open link to `peerId`, if any. */
  link(peerId: string): Link | null {
    const entry = this.links.get(peerId);
    return entry && !entry.link.closed ? entry.link : null;
  }

  peers(): string[] {
    return [...this.links.keys()];
  }

  /** Starts a link to `peerId` unless one exists, is on its way, or failed recently. */
  initiate(peerId: string, send: SignalSender): void {
    if (this.links.has(peerId) || this.attempts.has(peerId)) return;
    if (this.clock.now() - (this.failedAt.get(peerId) ?? -Infinity) < RETRY_AFTER_MS) return;
    this.start(peerId, "initiator", send);
  }

  /** A signal from `peerId`; an offer with no attempt under way starts one as the responder. */
  receive(peerId: string, value: unknown, send: SignalSender): void {
    let signal: WebRtcSignal;
    try {
      signal = parseSignal(value);
    } catch {
      return; // the tunnel authenticated it, so this is a bug at the other end, not an attack
    }
    let current = this.attempts.get(peerId);
    if (signal.type === "offer" && current?.role === "initiator") {
      // Both sides started at once: the peer with the lower id keeps its offer, the other answers.
      if (this.self < peerId) return;
      current.attempt.abort("the other side's offer wins");
      this.attempts.delete(peerId);
      current = undefined;
    }
    if (!current) {
      if (signal.type !== "offer" || this.links.has(peerId)) return;
      current = this.start(peerId, "responder", send);
    }
    current.attempt.receive(signal);
  }

  /** The other peer cannot make direct links: stop trying, for a while. */
  giveUp(peerId: string): void {
    const current = this.attempts.get(peerId);
    if (current) {
      current.attempt.abort("the other peer makes no direct links");
      this.attempts.delete(peerId);
    }
    this.failedAt.set(peerId, this.clock.now());
  }

  /**
   * Closes the link to `peerId` (tunnels on it fall back to the relays). `abrupt` cuts it as a failure
   * would, discarding whatever it had not sent yet.
   */
  drop(peerId: string, abrupt = false): void {
    const link = this.links.get(peerId)?.link;
    if (!link) return;
    if (abrupt && "terminate" in link && typeof link.terminate === "function") link.terminate("cut by this peer");
    else link.close(CloseCode.Normal, "dropped by this peer");
  }

  close(): void {
    this.liveness.stop();
    this.stopKeepalive();
    for (const { attempt } of this.attempts.values()) attempt.abort("connection closed");
    this.attempts.clear();
    for (const entry of this.links.values()) entry.link.close(CloseCode.Normal, "connection closed");
  }

  private start(peerId: string, role: "initiator" | "responder", send: SignalSender) {
    const attempt = connectWebRtc({
      role,
      peerConnection: this.settings.peerConnection,
      signaling: { send },
      iceServers: this.settings.iceServers,
      candidateFilter: this.settings.candidateFilter,
      timeout: this.settings.connectTimeout,
      remote: `peer:${peerId.slice(0, 12)}`,
    });
    const current = { attempt, role };
    this.attempts.set(peerId, current);
    attempt.link.then(
      (link) => {
        if (this.attempts.get(peerId) !== current) return link.close(CloseCode.Normal, "superseded");
        this.attempts.delete(peerId);
        this.adopt(peerId, link);
      },
      () => {
        if (this.attempts.get(peerId) !== current) return;
        this.attempts.delete(peerId);
        this.failedAt.set(peerId, this.clock.now());
      },
    );
    return current;
  }

  private adopt(peerId: string, link: Link): void {
    this.links.get(peerId)?.link.close(CloseCode.Normal, "replaced by a newer direct link");
    const entry: Entry = {
      link,
      queuedAtCheck: 0,
      since: this.clock.now(),
      watchdog: this.liveness.watch(
        { pingAfterMs: this.heartbeatMs, deadAfterMs: this.heartbeatMs * MISSED_HEARTBEATS },
        {
          ping: () => this.ping(link),
          // A peer that vanished without closing (werift's close does not reach the other side) is found
          // here rather than after ICE consent expires half a minute later.
          dead: (silent) => link.close(1006, `direct link silent for ${Math.round(silent)} ms`),
          showsLife: () => this.drainedSinceLastLook(entry),
        },
      ),
    };
    this.links.set(peerId, entry);
    link.listen({
      frame: (bytes) => {
        entry.watchdog.heard();
        let frame: Frame;
        try {
          frame = decodeFrame(bytes);
        } catch {
          return link.close(CloseCode.Protocol, "malformed frame on a direct link");
        }
        if (frame.type === FrameType.Ping) link.send(encodeFrame({ type: FrameType.Pong, stamp: frame.stamp }));
        else if (frame.type !== FrameType.Pong) this.onFrame(peerId, frame);
      },
      close: () => {
        entry.watchdog.stop();
        if (this.links.get(peerId) !== entry) return;
        this.links.delete(peerId);
        this.emit("direct", { peerId, open: false });
      },
    });
    this.evictBeyondCap();
    this.emit("direct", { peerId, open: true });
  }

  private evictBeyondCap(): void {
    while (this.links.size > this.maxLinks) {
      let oldest: [string, Entry] | null = null;
      for (const item of this.links) if (!oldest || item[1].since < oldest[1].since) oldest = item;
      oldest![1].link.close(CloseCode.Normal, "direct link cache is full");
      this.links.delete(oldest![0]);
      this.emit("direct", { peerId: oldest![0], open: false });
    }
  }

  private keepalive(): void {
    for (const entry of this.links.values()) this.ping(entry.link);
  }

  private ping(link: Link): void {
    link.send(encodeFrame({ type: FrameType.Ping, stamp: this.clock.now() }));
  }

  /** Our pings wait behind data the other end is still taking: that is life too. */
  private drainedSinceLastLook(entry: Entry): boolean {
    const queued = entry.link.bufferedAmount;
    const draining = queued > 0 && queued < entry.queuedAtCheck;
    entry.queuedAtCheck = queued;
    return draining;
  }
}
