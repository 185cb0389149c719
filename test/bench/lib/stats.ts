// Summaries of latency samples.

export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  minUs: number;
  maxUs: number;
}

/** Nearest-rank percentile of ascending `sorted`: the smallest sample with at least p% at or below it. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samplesUs: number[]): LatencySummary {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const sum = sorted.reduce((total, sample) => total + sample, 0);
  return {
    count: sorted.length,
    meanUs: sorted.length ? sum / sorted.length : NaN,
    p50Us: percentile(sorted, 50),
    p99Us: percentile(sorted, 99),
    minUs: sorted[0] ?? NaN,
    maxUs: sorted[sorted.length - 1] ?? NaN,
  };
}
