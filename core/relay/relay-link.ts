// A link between two relays, once both have proven who they are. It carries routed frames, tree
// updates and directory gossip, and has a watchdog like any link (relay links detect a silent end faster
// than peer links do: routes heal around a lost relay within seconds).

import { toHex } from "../util/bytes.ts";
import { CloseCode } from "../transports/link.ts";
import type { Link } from "../transports/link.ts";
import type { Watchdog } from "../transports/liveness.ts";
import type { Hop } from "./hop.ts";
import type { RelayStats } from "./relay-stats.ts";
import type { FlowControl } from "./flow-control.ts";

export class RelayLink implements Hop {
  readonly kind = "relay" as const;
  readonly hex: string;
  /** Set by the backbone once the link is established. */
  watchdog: Watchdog | null = null;
  /** The link's queue at the last liveness check, to tell a slow reader from a dead one. */
  queuedAtCheck = 0;
  /** The other relay is shutting down: route nothing new through it. */
  draining = false;
  /** The other relay said it has no other link into our part of the id space: keep this one. */
  neededByRemote = false;
  /** Frames refused because the link's queue was full. */
  dropped = 0;
  private isGone = false;

  constructor(
    readonly link: Link,
    readonly relayId: Uint8Array,
    readonly address: string,
    /** Which side dialed: the tie-breaker when two relays dial each other at once. */
    readonly outgoing: boolean,
    private readonly outboundLimit: number,
    /** Told when a frame is refused for a full queue (to log it: the loss must not go unseen). */
    private readonly onOverflow: (link: RelayLink) => void,
    private readonly stats: RelayStats,
    private readonly flow: FlowControl,
  ) {
    this.hex = toHex(relayId);
  }

  get label(): string {
    return `relay:${this.hex.slice(0, 12)}`;
  }

  get gone(): boolean {
    return this.isGone || this.link.closed;
  }

  /**
   * Relay links carry everyone's traffic. Past the high-water mark, flow control makes the senders wait
   * (flow-control.ts); a queue that still reaches the hard limit drops the frame (requests are retried and
   * timed out end to end) rather than cutting the link and every route through it.
   */
  send(bytes: Uint8Array): boolean {
    if (this.gone) return false;
    const queued = this.link.bufferedAmount;
    if (queued + bytes.length > this.outboundLimit) {
      this.dropped++;
      this.stats.slowConsumerDrops++;
      this.onOverflow(this);
      return false;
    }
    this.stats.countOut(bytes);
    this.link.send(bytes);
    if (queued + bytes.length > this.flow.settings.highWater) this.flow.full(this);
    return true;
  }

  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.isGone) return;
    this.isGone = true;
    this.watchdog?.stop();
    this.link.close(code, reason);
  }

  markGone(): void {
    this.isGone = true;
    this.watchdog?.stop();
  }
}
