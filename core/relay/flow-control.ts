// End-to-end flow control through a relay. When a hop's outbound queue (a peer's, or another relay's)
// grows past the high-water mark, the relay stops reading from every link that sends it more: their
// frames wait in their own sockets, their senders' buffers fill, and a fast publisher's `await publish()`
// slows to the pace of the slowest subscriber that keeps reading, across as many relays as lie between
// them. Nothing is dropped on the way. Once the queue falls to the low-water mark, the senders are read
// again.
//
// A hop that makes no progress at all (its queue does not shrink) for `stallTimeoutMs` is stuck, not
// slow: the relay cuts it (a peer is told 4005, slow consumer) so that it holds nobody up for longer than
// that. The relay never blames a link it paused itself for its silence (see relay.ts's heartbeat).

import type { Clock, TimerHandle } from "../util/clock.ts";
import type { Hop } from "./hop.ts";

export interface FlowSettings {
  /** Queued bytes above which a hop's senders are paused. */
  highWater: number;
  /** Queued bytes at or below which they are read again. */
  lowWater: number;
  /** How long a congested hop may make no progress before it is cut. */
  stallTimeoutMs: number;
}

/** How often congested hops are checked for progress (more often for short stall timeouts). */
const SWEEP_MS = 250;

interface Congested {
  /** The links paused because they sent this hop more while it was full. */
  readonly senders: Set<Hop>;
  /** Its queue when progress was last seen, and when. */
  queued: number;
  progressAt: number;
}

export class FlowControl {
  /** Hops whose queue was over the mark after a send made while the current frame was handled. */
  private readonly congestedNow: Hop[] = [];
  private readonly congested = new Map<Hop, Congested>();
  /** For each paused sender, the congested hops that hold it paused. */
  private readonly pausedBy = new Map<Hop, Set<Hop>>();
  /** When each paused sender was paused. */
  private readonly pausedSince = new Map<Hop, number>();
  /** Time senders spent paused, summed over senders, for pauses that have ended. */
  private endedPausesMs = 0;
  /** Checks on congested hops run while there are any, and cost nothing otherwise. */
  private sweepTimer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    readonly settings: FlowSettings,
    private readonly clock: Clock,
    /** A congested hop made no progress for stallTimeoutMs: cut it. */
    private readonly onStuck: (hop: Hop, stuckMs: number) => void,
  ) {}

  /** Times a sender was paused since the relay started, for reports. */
  pauses = 0;

  /** Senders paused now, for reports. */
  get pausedSenders(): number {
    return this.pausedBy.size;
  }

  /**
   * Milliseconds senders have spent paused since the relay started, summed over senders (pauses still on
   * count so far), for reports: with `pauses`, how long a pause lasts, which is how long a sender's data
   * waits behind a full hop.
   */
  pausedMs(now: number = this.clock.now()): number {
    let total = this.endedPausesMs;
    for (const since of this.pausedSince.values()) total += now - since;
    return total;
  }

  /** Called by a hop after a send that left its queue over the high-water mark. */
  full(hop: Hop): void {
    this.congestedNow.push(hop);
  }

  /** A frame from `sender` has been handled: if it fed a full hop, read nothing more from it until that drains. */
  afterFrame(sender: Hop): void {
    const count = this.congestedNow.length;
    if (count === 0) return;
    for (let i = 0; i < count; i++) this.hold(sender, this.congestedNow[i]!);
    this.congestedNow.length = 0;
  }

  /** The hop's link reported its outbound buffer empty (or a sweep found it low). */
  drained(hop: Hop): void {
    const entry = this.congested.get(hop);
    if (!entry) return;
    const queued = hop.link.bufferedAmount;
    if (queued <= this.settings.lowWater) return this.release(hop, entry);
    if (queued < entry.queued) {
      entry.queued = queued;
      entry.progressAt = this.clock.now();
    }
  }

  /** No more sweeps (the relay is closing). */
  stop(): void {
    this.stopped = true;
    if (this.sweepTimer !== null) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
  }

  /** Read the senders of hops that drained, and cut the hops that are stuck. Runs every SWEEP_MS. */
  sweep(now: number): void {
    for (const [hop, entry] of [...this.congested]) {
      if (hop.gone) {
        this.release(hop, entry);
        continue;
      }
      const queued = hop.link.bufferedAmount;
      if (queued <= this.settings.lowWater) {
        this.release(hop, entry);
      } else if (queued < entry.queued) {
        entry.queued = queued;
        entry.progressAt = now;
      } else if (now - entry.progressAt >= this.settings.stallTimeoutMs) {
        this.release(hop, entry);
        this.onStuck(hop, now - entry.progressAt);
      }
    }
  }

  /** A hop is gone: whoever it held paused is read again, and nothing holds it any more. */
  forget(hop: Hop): void {
    const entry = this.congested.get(hop);
    if (entry) this.release(hop, entry);
    const holders = this.pausedBy.get(hop);
    if (!holders) return;
    this.unpaused(hop);
    for (const holder of holders) this.congested.get(holder)?.senders.delete(hop);
  }

  private hold(sender: Hop, full: Hop): void {
    let entry = this.congested.get(full);
    if (!entry) {
      entry = { senders: new Set(), queued: full.link.bufferedAmount, progressAt: this.clock.now() };
      this.congested.set(full, entry);
      this.scheduleSweep();
    }
    if (entry.senders.has(sender) || sender.gone) return;
    entry.senders.add(sender);
    let holders = this.pausedBy.get(sender);
    if (!holders) {
      this.pausedBy.set(sender, (holders = new Set()));
      this.pausedSince.set(sender, this.clock.now());
      this.pauses++;
      sender.link.pause();
    }
    holders.add(full);
  }

  private scheduleSweep(): void {
    if (this.sweepTimer !== null || this.stopped) return;
    const interval = Math.min(SWEEP_MS, this.settings.stallTimeoutMs / 4);
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweepTimer = null;
      this.sweep(this.clock.now());
      if (this.congested.size > 0) this.scheduleSweep();
    }, interval);
  }

  private unpaused(sender: Hop): void {
    this.pausedBy.delete(sender);
    const since = this.pausedSince.get(sender);
    this.pausedSince.delete(sender);
    if (since !== undefined) this.endedPausesMs += this.clock.now() - since;
  }

  private release(full: Hop, entry: Congested): void {
    this.congested.delete(full);
    for (const sender of entry.senders) {
      const holders = this.pausedBy.get(sender);
      if (!holders) continue;
      holders.delete(full);
      if (holders.size > 0) continue;
      this.unpaused(sender);
      if (!sender.gone) sender.link.resume();
    }
  }
}
