// A relay's view of one attached peer: its link, its proven identity, what it joined, the watchdog that
// knows when it was last heard from, and the outbound queue policy that protects everyone else from a
// slow reader.

import { toHex } from "../util/bytes.ts";
import { CloseCode, cutsLink } from "../transports/link.ts";
import type { Link } from "../transports/link.ts";
import type { Watchdog } from "../transports/liveness.ts";
import type { Hop } from "./hop.ts";
import type { RelayStats } from "./relay-stats.ts";
import type { FlowControl } from "./flow-control.ts";

export type SlowConsumerPolicy = "disconnect" | "drop";

export type SessionState = "challenged" | "ready" | "closed";

export class PeerSession implements Hop {
  readonly kind = "peer" as const;
  state: SessionState = "challenged";
  peerId: Uint8Array | null = null;
  peerHex = "";
  agent = "";
  /** Watches the link once the peer has said hello (before that, the handshake deadline does). */
  watchdog: Watchdog | null = null;
  /** The link's queue at the last liveness check, to tell a slow reader from a dead one. */
  queuedAtCheck = 0;
  /** Cluster ids (hex) this peer is a member of, and topic ids it subscribes to. */
  readonly clusters = new Set<string>();
  readonly topics = new Set<string>();
  /** Frames refused by the outbound queue policy. */
  dropped = 0;
  framesIn = 0;
  framesOut = 0;
  /** Called once when the handshake completes (per-address accounting); null afterwards. */
  onHandshakeDone: (() => void) | null = null;
  /** Told when a cut had to reset the link, so the peer never got the reason (see recent-cuts.ts). */
  onReset: ((code: number, reason: string) => void) | null = null;

  constructor(
    readonly link: Link,
    readonly challenge: Uint8Array,
    readonly connectedAt: number,
    private readonly outboundLimit: number,
    private readonly policy: SlowConsumerPolicy,
    private readonly onSlow: (session: PeerSession, queued: number) => void,
    private readonly stats: RelayStats,
    private readonly flow: FlowControl,
  ) {}

  get ready(): boolean {
    return this.state === "ready";
  }

  get gone(): boolean {
    return this.state === "closed" || this.link.closed;
  }

  /** Names the session for logs before and after the peer proved who it is. */
  get label(): string {
    return this.peerHex ? `${this.peerHex.slice(0, 12)}@${this.link.remote}` : this.link.remote;
  }

  identify(peerId: Uint8Array, agent: string): void {
    this.peerId = peerId;
    this.peerHex = toHex(peerId);
    this.agent = agent;
    this.state = "ready";
  }

  /**
   * Queues a frame unless that would push the link's outbound queue over its hard limit. Past the high-
   * water mark, flow control makes the senders wait (flow-control.ts), so the hard limit is only reached
   * by a flood from many senders at once; there the policy decides: drop this frame, or disconnect the
   * peer. Returns whether the frame was queued.
   */
  send(bytes: Uint8Array): boolean {
    if (this.state === "closed" || this.link.closed) return false;
    const queued = this.link.bufferedAmount;
    if (queued + bytes.length > this.outboundLimit) {
      this.dropped++;
      this.stats.slowConsumerDrops++;
      this.onSlow(this, queued);
      if (this.policy === "disconnect") {
        this.stats.slowConsumerDisconnects++;
        this.close(CloseCode.SlowConsumer, `slow consumer: outbound queue over ${this.outboundLimit} bytes`);
      }
      return false;
    }
    this.framesOut++;
    this.stats.countOut(bytes);
    this.link.send(bytes);
    if (queued + bytes.length > this.flow.settings.highWater) this.flow.full(this);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.state === "closed") return;
    // A cut with data still queued resets the link (Link.close): the peer will learn the reason later.
    if (this.state === "ready" && cutsLink(code) && this.link.bufferedAmount > 0) this.onReset?.(code, reason);
    this.state = "closed";
    this.watchdog?.stop();
    this.link.close(code, reason);
  }
}
