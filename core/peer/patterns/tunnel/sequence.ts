// Receive-side ordering for a tunnel. Pieces are numbered per direction; they may arrive out of order
// when a tunnel moves between the relay route and a direct link, and twice when a sender replays what
// a failed link may have lost. This puts them back in order, drops repeats, bounds what it holds, and
// reports a gap that does not close (a relay dropping pieces, say).

import type { Clock, TimerHandle } from "../../../util/clock.ts";
import { ProtocolError } from "../../../errors.ts";

export interface InOrder {
  seq: number;
  plain: Uint8Array;
}

export class ReceiveSequence {
  /** The next piece to hand on: every piece before it has been. */
  expected = 0;
  private readonly early = new Map<number, Uint8Array>();
  private earlyBytes = 0;
  private gapTimer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    /** Most bytes held out of order; past that the other side is not playing by its credit. */
    private readonly maxEarlyBytes: number,
    /** How long a gap may stay open before the tunnel is declared broken. */
    private readonly gapTimeoutMs: number,
    private readonly onGap: (error: ProtocolError) => void,
  ) {}

  /** Whether piece `seq` is new (neither handed on nor held already). */
  isNew(seq: number): boolean {
    return seq >= this.expected && !this.early.has(seq);
  }

  /**
   * Takes an opened piece and returns those now in order (possibly none, possibly several). Throws a
   * ProtocolError when holding it would exceed the bound.
   */
  accept(seq: number, plain: Uint8Array): InOrder[] {
    if (!this.isNew(seq)) return [];
    if (seq !== this.expected) {
      if (this.earlyBytes + plain.length > this.maxEarlyBytes) {
        throw new ProtocolError(`tunnel piece ${seq} arrived ${seq - this.expected} ahead, past the credit window`);
      }
      this.early.set(seq, plain);
      this.earlyBytes += plain.length;
      this.watchGap();
      return [];
    }
    const ready: InOrder[] = [{ seq, plain }];
    this.expected++;
    for (let next = this.early.get(this.expected); next; next = this.early.get(this.expected)) {
      this.early.delete(this.expected);
      this.earlyBytes -= next.length;
      ready.push({ seq: this.expected, plain: next });
      this.expected++;
    }
    this.watchGap();
    return ready;
  }

  stop(): void {
    if (this.gapTimer !== null) this.clock.clearTimeout(this.gapTimer);
    this.gapTimer = null;
    this.early.clear();
    this.earlyBytes = 0;
  }

  private watchGap(): void {
    if (this.gapTimer !== null) this.clock.clearTimeout(this.gapTimer);
    this.gapTimer = null;
    if (this.early.size === 0) return;
    const waitingFor = this.expected;
    this.gapTimer = this.clock.setTimeout(() => {
      this.gapTimer = null;
      if (this.expected === waitingFor && this.early.size > 0) {
        this.onGap(new ProtocolError(`tunnel piece ${waitingFor} never arrived (lost or withheld on the way)`));
      }
    }, this.gapTimeoutMs);
  }
}
