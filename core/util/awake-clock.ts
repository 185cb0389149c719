// Time as this process saw it while it was awake. A process that stalls (a long GC pause, a busy or
// frozen host, a background tab whose timers run once a minute) hears nothing while stalled, through no
// fault of the other ends: measured on the wall clock, their silence would look like their death, and
// the stalled process would blame everyone at once the moment it woke. So silence is measured on this
// clock, from which every stall the process noticed is taken off.
//
// A stall shows as a timer that ran late: a repeating timer reports, each time it runs, when it was
// meant to run. Lateness within the tolerance is the normal jitter of a busy event loop and counts as
// awake time.

import type { Clock } from "./clock.ts";

export class AwakeClock {
  private stalledMs = 0;

  constructor(
    private readonly clock: Clock,
    /** Lateness of a timer that is still no stall. */
    private readonly toleranceMs: number,
  ) {}

  /** Milliseconds since the epoch, less every stall noticed so far. */
  now(): number {
    return this.clock.now() - this.stalledMs;
  }

  /** Wall-clock milliseconds, for scheduling the timers that watch for stalls. */
  wallNow(): number {
    return this.clock.now();
  }

  /** Time spent stalled, in all. */
  get stalled(): number {
    return this.stalledMs;
  }

  /**
   * A timer that was due at `due` (wall clock) runs now. Returns how long the process was stalled, 0
   * when the timer ran about on time.
   */
  timerRan(due: number): number {
    const late = this.clock.now() - due;
    if (late <= this.toleranceMs) return 0;
    this.stalledMs += late;
    return late;
  }
}
