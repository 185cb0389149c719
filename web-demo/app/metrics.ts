// What the charts plot: counts of events per second and request latency percentiles per second. The
// panels record events as they happen; once a second `roll()` closes the window and keeps the last
// minute of windows as columns, the shape uPlot takes.

export const SERIES = ["sent", "answered", "served", "received", "tunnelBytes"] as const;
export type Counter = (typeof SERIES)[number];

/** One-second windows kept: a minute of history. */
export const HISTORY = 60;

export interface Columns {
  /** Seconds since the epoch, the x axis. */
  time: number[];
  /** Per-second counts by counter. */
  rates: Record<Counter, number[]>;
  /** Request latency percentiles in ms per second; null where no request finished that second. */
  p50: Array<number | null>;
  p90: Array<number | null>;
  p99: Array<number | null>;
}

export class Metrics {
  private readonly counts: Record<Counter, number> = { sent: 0, answered: 0, served: 0, received: 0, tunnelBytes: 0 };
  private latencies: number[] = [];
  readonly columns: Columns = {
    time: [],
    rates: { sent: [], answered: [], served: [], received: [], tunnelBytes: [] },
    p50: [],
    p90: [],
    p99: [],
  };
  private readonly listeners = new Set<(columns: Columns) => void>();

  count(counter: Counter, n = 1): void {
    this.counts[counter] += n;
  }

  latency(ms: number): void {
    this.latencies.push(ms);
  }

  onRoll(listener: (columns: Columns) => void): void {
    this.listeners.add(listener);
  }

  /** Closes the current window (call once a second). */
  roll(now = Date.now()): void {
    const columns = this.columns;
    columns.time.push(Math.floor(now / 1000));
    for (const counter of SERIES) {
      columns.rates[counter].push(this.counts[counter]);
      this.counts[counter] = 0;
    }
    const sorted = this.latencies.sort((a, b) => a - b);
    columns.p50.push(percentile(sorted, 0.5));
    columns.p90.push(percentile(sorted, 0.9));
    columns.p99.push(percentile(sorted, 0.99));
    this.latencies = [];
    if (columns.time.length > HISTORY) {
      columns.time.shift();
      for (const counter of SERIES) columns.rates[counter].shift();
      columns.p50.shift();
      columns.p90.shift();
      columns.p99.shift();
    }
    for (const listener of this.listeners) listener(columns);
  }
}

/** The nearest-rank percentile of sorted samples, or null without any. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}
