// Live charts with uPlot (a small, fast time-series chart on canvas): messages per second and request
// latency percentiles over the last minute, redrawn each time the metrics roll a window. A line of text
// beside them says the same for people who do not see the canvas.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatMs } from "./dom.ts";
import { HISTORY } from "./metrics.ts";
import type { Columns, Metrics } from "./metrics.ts";

const HEIGHT = 190;
const COLORS = { sent: "#1d4ed8", answered: "#15803d", served: "#b45309", received: "#7c3aed", tunnel: "#be123c" };

/** y ranges that start at zero and never collapse to nothing while the mesh is idle. */
const fromZero =
  (floor: number): uPlot.Scale.Range =>
  (_u, _min, max) => [0, Math.max(floor, max * 1.1)];

/** The x axis always spans the last minute, so the lines scroll instead of stretching. */
const lastMinute: uPlot.Scale.Range = (_u, _min, max) => {
  // Before the first second there is no data and uPlot passes no usable maximum.
  const end = Number.isFinite(max) ? max : Math.floor(Date.now() / 1000);
  return [end - HISTORY, end];
};

/** Whole seconds as wall-clock time; uPlot would otherwise split a young chart into half seconds. */
const timeAxis: uPlot.Axis = {
  space: 70,
  incrs: [5, 10, 15, 30, 60],
  values: (_u, splits) => splits.map((s) => new Date(s * 1000).toLocaleTimeString([], { hour12: false })),
};

function rateOptions(width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: true, range: lastMinute }, msgs: { range: fromZero(5) }, mbs: { range: fromZero(1) } },
    series: [
      {},
      { label: "requests sent", scale: "msgs", stroke: COLORS.sent, width: 2 },
      { label: "replies", scale: "msgs", stroke: COLORS.answered, width: 2 },
      { label: "served here", scale: "msgs", stroke: COLORS.served, width: 2 },
      { label: "received (topics, broadcasts)", scale: "msgs", stroke: COLORS.received, width: 2 },
      { label: "tunnel MB/s", scale: "mbs", stroke: COLORS.tunnel, width: 2, dash: [6, 4] },
    ],
    axes: [
      timeAxis,
      { scale: "msgs", label: "per second", size: 50 },
      { scale: "mbs", side: 1, label: "MB/s", grid: { show: false }, size: 50 },
    ],
  };
}

function latencyOptions(width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: true, range: lastMinute }, ms: { range: fromZero(2) } },
    series: [
      {},
      // Points too: a lone busy second between idle ones has no line to draw.
      {
        label: "p50",
        scale: "ms",
        stroke: COLORS.answered,
        width: 2,
        spanGaps: false,
        points: { show: true, size: 5 },
      },
      { label: "p90", scale: "ms", stroke: COLORS.served, width: 2, spanGaps: false, points: { show: true, size: 5 } },
      { label: "p99", scale: "ms", stroke: COLORS.tunnel, width: 2, spanGaps: false, points: { show: true, size: 5 } },
    ],
    axes: [timeAxis, { scale: "ms", label: "request latency, ms", size: 50 }],
  };
}

function rateData(c: Columns): uPlot.AlignedData {
  return [
    c.time,
    c.rates.sent,
    c.rates.answered,
    c.rates.served,
    c.rates.received,
    c.rates.tunnelBytes.map((bytes) => bytes / 1e6),
  ];
}

function latencyData(c: Columns): uPlot.AlignedData {
  return [c.time, c.p50, c.p90, c.p99];
}

export function mountCharts(
  metrics: Metrics,
  rateBox: HTMLElement,
  latencyBox: HTMLElement,
  summary: HTMLElement,
): void {
  const widthOf = (box: HTMLElement) => Math.max(240, Math.floor(box.clientWidth));
  const rates = new uPlot(rateOptions(widthOf(rateBox)), rateData(metrics.columns), rateBox);
  const latency = new uPlot(latencyOptions(widthOf(latencyBox)), latencyData(metrics.columns), latencyBox);

  // uPlot draws at a fixed size; follow the panel as the window (or a phone's orientation) changes.
  const resize = new ResizeObserver(() => {
    rates.setSize({ width: widthOf(rateBox), height: HEIGHT });
    latency.setSize({ width: widthOf(latencyBox), height: HEIGHT });
  });
  resize.observe(rateBox);
  resize.observe(latencyBox);

  metrics.onRoll((columns) => {
    rates.setData(rateData(columns));
    latency.setData(latencyData(columns));
    summary.textContent = describe(columns);
  });
}

function describe(c: Columns): string {
  const last = c.time.length - 1;
  if (last < 0) return "";
  const at = (values: number[]) => values[last] ?? 0;
  const p50 = c.p50[last];
  const p99 = c.p99[last];
  const latency = p50 != null && p99 != null ? `, latency p50 ${formatMs(p50)}, p99 ${formatMs(p99)}` : "";
  return (
    `Last second: ${at(c.rates.sent)} requests sent, ${at(c.rates.answered)} replies, ${at(c.rates.served)} served here, ` +
    `${at(c.rates.received)} received, ${(at(c.rates.tunnelBytes) / 1e6).toFixed(2)} MB/s through tunnels${latency}.`
  );
}
