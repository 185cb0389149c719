// What this tab's charts plot: counts of its own events per second, requests per cluster, and request
// latency percentiles. The panels record events as they happen; once a second `roll()` closes the
// window and keeps the last minute of windows as columns, the shape uPlot takes.

export const SERIES = ["sent", "answered", "failed", "served", "received", "tunnelBytes"] as const;
export type Counter = (typeof SERIES)[number];

/** One-second windows kept: a minute of history. */
export const HISTORY = 60;

export interface Columns {
  /** Seconds since the epoch, the x axis. */
  time: number[];
  /** Per-second counts by counter. */
  rates: Record<Counter, number[]>;
  /** Requests sent per second, by cluster name (a cluster's column starts when it is first used). */
  byCluster: Map<string, number[]>;
  /** Request latency percentiles in ms per second; null where no request finished that second. */
  p50: Array<number | null>;
  p90: Array<number | null>;
  p99: Array<number | null>;
}

export class Metrics {
  private readonly counts = Object.fromEntries(SERIES.map((name) => [name, 0])) as Record<Counter, number>;
  private readonly clusterCounts = new Map<string, number>();
  private latencies: number[] = [];
  readonly columns: Columns = {
    time: [],
    rates: Object.fromEntries(SERIES.map((name) => [name, []])) as unknown as Record<Counter, number[]>,
    byCluster: new Map(),
    p50: [],
    p90: [],
    p99: [],
  };
  private readonly listeners = new Set<(columns: Columns) => void>();

  /** Counts `n` events; requests sent also count toward their cluster. */
  count(counter: Counter, n = 1, cluster?: string): void {
    this.counts[counter] += n;
    if (counter === "sent" && cluster !== undefined) {
      this.clusterCounts.set(cluster, (this.clusterCounts.get(cluster) ?? 0) + n);
    }
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
    for (const name of this.clusterCounts.keys()) {
      // A cluster used for the first time gets zeros for the seconds before, so columns stay aligned.
      if (!columns.byCluster.has(name)) columns.byCluster.set(name, new Array(columns.time.length - 1).fill(0));
    }
    for (const [name, column] of columns.byCluster) {
      column.push(this.clusterCounts.get(name) ?? 0);
      this.clusterCounts.set(name, 0);
    }
    const sorted = this.latencies.sort((a, b) => a - b);
    columns.p50.push(percentile(sorted, 0.5));
    columns.p90.push(percentile(sorted, 0.9));
    columns.p99.push(percentile(sorted, 0.99));
    this.latencies = [];
    if (columns.time.length > HISTORY) {
      columns.time.shift();
      for (const counter of SERIES) columns.rates[counter].shift();
      for (const column of columns.byCluster.values()) column.shift();
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
