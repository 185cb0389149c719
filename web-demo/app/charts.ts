// The page's three charts, each over the last minute:
// - each relay's messages per second, from the relays' own counters (what the whole mesh does);
// - this tab's requests per second by cluster, and what it served as a member: relays count frames,
//   not clusters (they see ids, and cannot tell one cluster's frames from another's in their counters),
//   so only a tab knows its own traffic by cluster;
// - this tab's request latency percentiles.

import { formatMs, formatRate } from "./dom.ts";
import { LiveChart } from "./live-chart.ts";
import type { SeriesSpec } from "./live-chart.ts";
import type { Columns } from "./metrics.ts";
import type { Scene } from "./topology/poller.ts";

/** Distinct on light and dark backgrounds. */
const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#dc2626", "#65a30d"];
const HISTORY = 60;

export interface ChartBoxes {
  relays: { chart: HTMLElement; legend: HTMLElement };
  clusters: { chart: HTMLElement; legend: HTMLElement };
  latency: { chart: HTMLElement; legend: HTMLElement };
}

export class Charts {
  private readonly relays: LiveChart;
  private readonly clusters: LiveChart;
  private readonly latency: LiveChart;
  /** Each relay's messages per second, by poll; null where it did not report. */
  private readonly relayColumns = new Map<string, Array<number | null>>();
  private readonly relayNames = new Map<string, string>();
  private readonly relayTimes: number[] = [];

  constructor(boxes: ChartBoxes) {
    this.relays = new LiveChart(boxes.relays.chart, boxes.relays.legend, {
      unit: "messages/s",
      floor: 5,
      format: formatRate,
    });
    this.clusters = new LiveChart(boxes.clusters.chart, boxes.clusters.legend, {
      unit: "requests/s",
      floor: 5,
      format: formatRate,
    });
    this.latency = new LiveChart(boxes.latency.chart, boxes.latency.legend, { unit: "ms", floor: 2, format: formatMs });
  }

  /** A poll of the relays: one more point per relay. */
  relaysPolled(scene: Scene): void {
    if (!scene.current) return;
    this.relayTimes.push(Math.round(Date.now() / 1000));
    for (const relay of scene.topology.relays) {
      this.relayNames.set(relay.key, relay.name);
      if (!this.relayColumns.has(relay.key))
        this.relayColumns.set(relay.key, new Array(this.relayTimes.length - 1).fill(null));
    }
    for (const [key, column] of this.relayColumns) column.push(scene.rates.get(key)?.messagesIn ?? null);
    if (this.relayTimes.length > HISTORY) {
      this.relayTimes.shift();
      for (const column of this.relayColumns.values()) column.shift();
    }
    const keys = [...this.relayColumns.keys()];
    const series: SeriesSpec[] = keys.map((key, i) => ({
      key,
      label: this.relayNames.get(key) ?? key,
      color: PALETTE[i % PALETTE.length]!,
    }));
    this.relays.update(
      series,
      this.relayTimes,
      keys.map((key) => this.relayColumns.get(key)!),
    );
  }

  /** A second of this tab's metrics closed. */
  rolled(columns: Columns): void {
    const names = [...columns.byCluster.keys()].sort();
    const series: SeriesSpec[] = [
      ...names.map((name, i) => ({ key: `to:${name}`, label: `to "${name}"`, color: PALETTE[i % PALETTE.length]! })),
      { key: "served", label: "served here", color: "#64748b", dashed: true },
      { key: "failed", label: "failed", color: "#dc2626", sparse: true },
    ];
    this.clusters.update(series, columns.time, [
      ...names.map((name) => columns.byCluster.get(name)!),
      columns.rates.served,
      columns.rates.failed,
    ]);
    this.latency.update(
      [
        { key: "p50", label: "p50", color: PALETTE[1]!, points: true },
        { key: "p90", label: "p90", color: PALETTE[2]!, points: true },
        { key: "p99", label: "p99", color: PALETTE[6]!, points: true },
      ],
      columns.time,
      [columns.p50, columns.p90, columns.p99],
    );
  }
}
