// A drop whose reason is still to come. A relay that cuts a link with data queued toward the peer resets
// the connection rather than let its close wait behind that data (transports/link.ts), so the peer sees
// its link lost with no reason given. It then dials the same relay at once, and the relay answers that
// dial with the reason of the cut (relay/recent-cuts.ts). The drop is reported with that answer, or as it
// was when the dial gets through or fails otherwise, or after a short wait: the application hears of
// the drop moments later, never much later, and in order, before the next attach.

import type { Clock, TimerHandle } from "../util/clock.ts";

export interface Drop {
  relay: string;
  code: number;
  reason: string;
}

/** How long a drop waits for the relay's answer before it is reported as it was. */
const ANSWER_WAIT_MS = 2000;

export class PendingDrop {
  private drop: Drop | null = null;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly report: (drop: Drop) => void,
  ) {}

  /** The relay whose answer the drop waits for, if one does. */
  get relay(): string | null {
    return this.drop?.relay ?? null;
  }

  /** Holds a drop until its relay answers (or not). */
  hold(drop: Drop): void {
    this.settle();
    this.drop = drop;
    this.timer = this.clock.setTimeout(() => this.settle(), ANSWER_WAIT_MS);
  }

  /** The relay said why: the drop is reported with its code and reason. */
  answer(code: number, reason: string): void {
    const drop = this.take();
    if (drop) this.report({ relay: drop.relay, code, reason });
  }

  /** Reports the drop as it was, if one waits. */
  settle(): void {
    const drop = this.take();
    if (drop) this.report(drop);
  }

  /** Forgets the drop without reporting it (the connection is closing). */
  discard(): void {
    this.take();
  }

  private take(): Drop | null {
    const drop = this.drop;
    this.drop = null;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    return drop;
  }
}
