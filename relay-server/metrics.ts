// Prometheus metrics of a relay, through prom-client. Nothing is counted here: the engine counts its
// traffic itself (core/relay/relay-stats.ts, an increment per frame), and every scrape reads one fresh
// report of it and hands it to the collectors below. The usual process metrics (CPU, memory, event
// loop lag, file descriptors, GC) come from prom-client's defaults.

import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { RelayStatsReport } from "../core/wire/relay-report.ts";

/** What the metrics are read from, on each scrape. */
export interface MetricsSource {
  readonly relayId: string;
  stats(): RelayStatsReport;
  ready(): boolean;
  draining(): boolean;
  /** Log lines the rate limit left out since start, by event. */
  suppressedLogLines(): ReadonlyMap<string, number>;
  /** When the served TLS certificate expires; null without TLS. */
  readonly certificateExpires: Date | null;
}

const PREFIX = "iris_relay_";

export class RelayMetrics {
  readonly registry = new Registry();
  /** The report the collectors of the scrape in progress read. */
  private current: RelayStatsReport | null = null;

  constructor(private readonly source: MetricsSource) {
    collectDefaultMetrics({ register: this.registry });
    this.levels();
    this.traffic();
    this.refusals();
    this.state();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of everything, read now. */
  async render(): Promise<string> {
    this.current = this.source.stats();
    try {
      return await this.registry.metrics();
    } finally {
      this.current = null;
    }
  }

  private report(): RelayStatsReport {
    // Collectors run only inside render(), which sets the report first.
    return this.current ?? this.source.stats();
  }

  private gauge(name: string, help: string, read: (report: RelayStatsReport) => number): void {
    const metrics = this;
    new Gauge({
      name: PREFIX + name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read(metrics.report()));
      },
    });
  }

  /**
   * A counter whose total the engine keeps: each scrape sets it to the engine's value (prom-client's
   * counters only go up by inc(), hence reset-then-inc).
   */
  private counter<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (report: RelayStatsReport) => Array<[Partial<Record<L, string>>, number]>,
  ): void {
    const metrics = this;
    new Counter({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of read(metrics.report())) this.inc(labels, value);
      },
    });
  }

  private levels(): void {
    this.gauge("peers", "Peers attached (handshake done).", (r) => r.peers);
    this.gauge("relay_links", "Links to other relays.", (r) => r.relayLinks);
    this.gauge(
      "queued_bytes",
      "Bytes waiting in outbound queues, peers' and relay links' together.",
      (r) => r.queuedBytes,
    );
    this.gauge("tunnels_open", "Tunnels routed through this relay.", (r) => r.tunnelsOpen);
    this.gauge("pending_requests", "Requests placed and not yet answered.", (r) => r.pendingRequests);
    this.gauge(
      "paused_senders",
      "Links not read now because they feed a full queue (flow control).",
      (r) => r.pausedSenders,
    );
  }

  private traffic(): void {
    type Labels = { direction: string; kind: string };
    const byKind =
      (inField: "framesIn" | "bytesIn", outField: "framesOut" | "bytesOut") => (report: RelayStatsReport) =>
        Object.entries(report.byKind).flatMap(
          ([kind, counts]): Array<[Labels, number]> => [
            [{ direction: "in", kind }, counts[inField]],
            [{ direction: "out", kind }, counts[outField]],
          ],
        );
    this.counter(
      "frames_total",
      "Frames received (in) and sent (out), by frame kind.",
      ["direction", "kind"],
      byKind("framesIn", "framesOut"),
    );
    this.counter(
      "frame_bytes_total",
      "Bytes of frames received (in) and sent (out), by frame kind.",
      ["direction", "kind"],
      byKind("bytesIn", "bytesOut"),
    );
    this.counter("requests_placed_total", "Requests placed on a member or a relay below.", [], (r) => [
      [{}, r.requestsPlaced],
    ]);
    this.counter(
      "requests_placed_again_total",
      "Requests placed again after the first choice failed before replying.",
      [],
      (r) => [[{}, r.requestsPlacedAgain]],
    );
  }

  private refusals(): void {
    this.counter("refused_total", "Links and handshakes refused, by reason.", ["reason"], (r) =>
      Object.entries(r.refused).map(([reason, value]) => [{ reason }, value]),
    );
    this.counter("flow_pauses_total", "Times a link was paused because it fed a full queue.", [], (r) => [
      [{}, r.pauses],
    ]);
    this.counter(
      "flow_paused_seconds_total",
      "Time links spent paused because they fed a full queue, summed over links.",
      [],
      (r) => [[{}, r.pausedMs / 1000]],
    );
    this.counter(
      "slow_consumer_dropped_frames_total",
      "Frames lost because a link's outbound queue was full (slow-consumer policy drop).",
      [],
      (r) => [[{}, r.slowConsumerDrops]],
    );
    this.counter(
      "slow_consumer_disconnects_total",
      "Peers disconnected for a full outbound queue (slow-consumer policy disconnect).",
      [],
      (r) => [[{}, r.slowConsumerDisconnects]],
    );
    const source = this.source;
    new Counter({
      name: `${PREFIX}log_lines_suppressed_total`,
      help: "Log lines the rate limit left out, by event (the events themselves are counted in full above).",
      labelNames: ["event"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [event, lines] of source.suppressedLogLines()) this.inc({ event }, lines);
      },
    });
  }

  private state(): void {
    const source = this.source;
    new Gauge({
      name: `${PREFIX}info`,
      help: "Always 1; the relay's id as a label.",
      labelNames: ["relay_id"],
      registers: [this.registry],
      collect() {
        this.set({ relay_id: source.relayId }, 1);
      },
    });
    new Gauge({
      name: `${PREFIX}ready`,
      help: "1 when /readyz says ready: listening, linked to the backbone if it has seeds, not draining.",
      registers: [this.registry],
      collect() {
        this.set(source.ready() ? 1 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}draining`,
      help: "1 while the relay drains (after SIGTERM).",
      registers: [this.registry],
      collect() {
        this.set(source.draining() ? 1 : 0);
      },
    });
    const expires = source.certificateExpires;
    if (expires) {
      new Gauge({
        name: `${PREFIX}tls_certificate_expiry_timestamp_seconds`,
        help: "When the served TLS certificate expires, in seconds since the epoch.",
        registers: [this.registry],
        collect() {
          this.set(expires.getTime() / 1000);
        },
      });
    }
  }
}
