// Summaries of samples: latency percentiles, and medians over rounds (of rates and of CPU per message).

import type { CpuPerUnit } from "./cpu.ts";

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

/** The median of the finite values; NaN when there are none. */
export function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Process by process (matched by name), the median over rounds; the total is the median of the totals. */
export function medianCpu(rounds: CpuPerUnit[]): CpuPerUnit {
  const names = rounds[0]?.perProcess.map((one) => one.name) ?? [];
  return {
    perProcess: names.map((name) => ({
      name,
      micros: median(rounds.map((round) => round.perProcess.find((one) => one.name === name)?.micros ?? NaN)),
    })),
    total: median(rounds.map((round) => round.total)),
  };
}
