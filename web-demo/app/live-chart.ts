// One live chart: uPlot (a small, fast time-series chart on canvas) for the lines, and a legend of our
// own beside it that always shows values: the latest second's, or the hovered second's while the pointer
// is on the chart, with the time in the page's one format (HH:MM:SS, as on the axis). Series can change
// (a relay or a cluster appears): the chart is then made again with the new set.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { clock, el } from "./dom.ts";

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
  dashed?: boolean;
  /** Points as well as a line (a lone busy second between idle ones has no line to draw). */
  points?: boolean;
  /** Only points, and only where the value is not zero (failures: a red line along zero would alarm). */
  sparse?: boolean;
}

export interface ChartSpec {
  /** The y axis's unit, also its label. */
  unit: string;
  /** The y range starts at zero and reaches at least this. */
  floor: number;
  format: (value: number) => string;
}

const HEIGHT = 170;
/** The x axis spans this many seconds, so lines scroll instead of stretching. */
const SPAN = 60;

/** The indices of a series' non-zero values: where its points are drawn. */
const nonZero: uPlot.Series.Points.Filter = (u, seriesIndex) => {
  const values = (u.data[seriesIndex] ?? []) as Array<number | null | undefined>;
  const shown: number[] = [];
  values.forEach((value, i) => {
    if (value) shown.push(i);
  });
  return shown;
};

export class LiveChart {
  private plot: uPlot | null = null;
  private seriesKey = "";
  private series: SeriesSpec[] = [];
  private data: uPlot.AlignedData = [[]];
  private readonly values = new Map<string, HTMLElement>();
  private readonly time: HTMLElement;
  private hovered: number | null = null;

  constructor(
    private readonly box: HTMLElement,
    private readonly legend: HTMLElement,
    private readonly spec: ChartSpec,
  ) {
    this.time = el("li", { class: "legend-time" });
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT })).observe(box);
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.rebuild());
  }

  /** New data: x in seconds since the epoch, then one column per series, in `series` order. */
  update(series: SeriesSpec[], x: number[], columns: Array<Array<number | null>>): void {
    this.data = [x, ...columns] as uPlot.AlignedData;
    const key = series.map((s) => `${s.key}:${s.color}`).join("|");
    if (key !== this.seriesKey) {
      this.series = series;
      this.seriesKey = key;
      this.rebuild();
    } else this.plot?.setData(this.data);
    this.showValues();
  }

  private width(): number {
    return Math.max(240, Math.floor(this.box.clientWidth));
  }

  private rebuild(): void {
    this.plot?.destroy();
    const style = getComputedStyle(document.documentElement);
    const ink = style.getPropertyValue("--muted").trim() || "#526075";
    const grid = style.getPropertyValue("--line").trim() || "#d8dee8";
    const axis = (scale: string, label: string | undefined): uPlot.Axis => ({
      scale,
      label,
      stroke: ink,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      size: 52,
    });
    const lastSpan: uPlot.Scale.Range = (_u, _min, max) => {
      const end = Number.isFinite(max) ? max : Math.floor(Date.now() / 1000);
      return [end - SPAN, end];
    };
    const floor = this.spec.floor;
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, range: lastSpan },
          y: { range: (_u, _min, max) => [0, Math.max(floor, max * 1.15)] },
        },
        series: [
          {},
          ...this.series.map(
            (s): uPlot.Series => ({
              label: s.label,
              scale: "y",
              stroke: s.color,
              width: s.sparse ? 0 : 2,
              dash: s.dashed ? [6, 4] : undefined,
              spanGaps: false,
              points: s.sparse
                ? { show: true, size: 8, fill: s.color, filter: nonZero }
                : { show: s.points ?? false, size: 5 },
            }),
          ),
        ],
        axes: [
          {
            ...axis("x", undefined),
            space: 70,
            incrs: [5, 10, 15, 30, 60],
            values: (_u, splits) => splits.map((s) => clock(s * 1000)),
          },
          axis("y", this.spec.unit),
        ],
        hooks: {
          setCursor: [
            (u) => {
              this.hovered = u.cursor.idx ?? null;
              this.showValues();
            },
          ],
        },
      },
      this.data,
      this.box,
    );
    this.legend.replaceChildren(this.time);
    this.values.clear();
    for (const s of this.series) {
      const value = el("span", { class: "legend-value" }, "–");
      this.values.set(s.key, value);
      this.legend.append(
        el(
          "li",
          { "data-series": s.key },
          el("span", { class: `legend-swatch${s.dashed ? " dashed" : ""}`, style: `border-color: ${s.color}` }),
          `${s.label} `,
          value,
        ),
      );
    }
  }

  private showValues(): void {
    const x = this.data[0] as number[];
    const index = this.hovered ?? x.length - 1;
    if (index < 0 || x[index] === undefined) return;
    this.time.textContent =
      this.hovered === null ? `latest, ${clock(x[index]! * 1000)}:` : `at ${clock(x[index]! * 1000)}:`;
    this.series.forEach((s, i) => {
      const value = (this.data[i + 1] as Array<number | null | undefined>)[index];
      const slot = this.values.get(s.key);
      if (slot) slot.textContent = value === null || value === undefined ? "–" : this.spec.format(value);
    });
  }
}
