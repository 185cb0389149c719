// A flood of refused links must not become a flood of log lines: each event a remote party can cause at
// will is written at most `burst` times per window, and the rest are counted. When a window in which
// lines were left out closes, one summary says how many; the totals feed the metrics, where the
// refusals themselves are counted in full (iris_relay_refused_total).

import type { Clock, TimerHandle } from "../core/util/clock.ts";

interface Window {
  written: number;
  suppressed: number;
  timer: TimerHandle;
}

export interface LogThrottleOptions {
  /** Lines of one event written per window before the rest are only counted. */
  burst: number;
  windowMs: number;
  clock: Clock;
  /** Called when a window that left lines out closes (or at flush). */
  summarize(event: string, suppressed: number, windowMs: number): void;
}

export class LogThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly totals = new Map<string, number>();

  constructor(private readonly options: LogThrottleOptions) {}

  /** Whether a line of this event may be written now; counts it if not. */
  admit(event: string): boolean {
    let window = this.windows.get(event);
    if (!window) {
      const timer = this.options.clock.setTimeout(() => this.close(event), this.options.windowMs);
      // A pending summary must not keep a stopping process alive; flush() writes it instead.
      (timer as { unref?: () => void }).unref?.();
      this.windows.set(event, (window = { written: 0, suppressed: 0, timer }));
    }
    if (window.written < this.options.burst) {
      window.written++;
      return true;
    }
    window.suppressed++;
    this.totals.set(event, (this.totals.get(event) ?? 0) + 1);
    return false;
  }

  /** Lines left out since start, by event. */
  suppressed(): ReadonlyMap<string, number> {
    return this.totals;
  }

  /** Closes every window now, summarizing what each left out (before the process exits). */
  flush(): void {
    for (const [event, window] of [...this.windows]) {
      this.options.clock.clearTimeout(window.timer);
      this.close(event);
    }
  }

  private close(event: string): void {
    const window = this.windows.get(event);
    if (!window) return;
    this.windows.delete(event);
    if (window.suppressed > 0) this.options.summarize(event, window.suppressed, this.options.windowMs);
  }
}
