// Asks the relays for their reports about once a second: this tab's relay first (conn.inspect()), then
// every relay it or the others know of, by id, over the overlay (conn.inspect(id)); and, when the stack
// offers relay controls, each relay process's state. The next round starts only after the last one
// finished, so a slow relay never piles up inspections.
//
// While this tab has no relay it can ask nobody: the last picture stays, marked as such, and only the
// processes' states (read from the stack over HTTP) are kept current.

import type { Connection, RelaySnapshot } from "../../../core/browser.ts";
import type { ControlClient } from "../relays/control-client.ts";
import { RatesOverTime } from "../relays/relay-rates.ts";
import type { RelayRates } from "../relays/relay-rates.ts";
import { buildTopology } from "./model.ts";
import type { ControlStatus, Topology } from "./model.ts";
import { StalePeers } from "./stale-peers.ts";

const INTERVAL_MS = 1000;
const INSPECT_TIMEOUT_MS = 2500;

export interface Scene {
  topology: Topology;
  /** Rates per relay (by key), once two reports are in. */
  rates: ReadonlyMap<string, RelayRates | null>;
  /** This tab's relay answered this round: the picture is current. */
  current: boolean;
  /** When the relays last answered (Date.now()). */
  reportedAt: number;
}

export interface PollerEvents {
  update(scene: Scene): void;
  /** Why the picture is not current (null once it is again). */
  trouble(message: string | null): void;
}

export class TopologyPoller {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** Relay addresses learned from directories, kept while a relay stays mentioned by anyone. */
  private readonly addresses = new Map<string, string>();
  private readonly stale = new StalePeers();
  private readonly rates = new RatesOverTime();
  private lastReports: { own: string | null; reports: Map<string, RelaySnapshot | null>; at: number } | null = null;
  private control: ControlStatus[] | null = null;

  constructor(
    private readonly conn: Connection,
    private readonly stackRelays: readonly string[],
    private readonly controls: ControlClient | null,
    private readonly events: PollerEvents,
  ) {}

  start(): void {
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Poll now (after this tab joined or left something), without waiting for the next round. */
  refresh(): void {
    if (this.timer === null || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    void this.round();
  }

  private async round(): Promise<void> {
    const [inspected, control] = await Promise.allSettled([this.inspectAll(), this.controls?.statuses() ?? null]);
    if (control.status === "fulfilled") this.control = control.value;
    if (inspected.status === "fulfilled") {
      this.lastReports = inspected.value;
      this.events.trouble(null);
    } else {
      const reason = (inspected.reason as Error).message;
      this.events.trouble(
        this.conn.relay === null
          ? "This tab has no relay right now (it is reconnecting), so it cannot ask the relays: the picture below is the last one they gave."
          : `This tab's relay did not answer its inspection (${reason}); the picture below is the last one it gave.`,
      );
    }
    this.publish(inspected.status === "fulfilled");
    if (!this.stopped) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.round();
      }, INTERVAL_MS);
    }
  }

  private publish(current: boolean): void {
    const last = this.lastReports;
    const now = Date.now();
    const topology = this.stale.apply(
      buildTopology({
        ownRelay: last?.own ?? null,
        reports: last?.reports ?? new Map(),
        addresses: this.addresses,
        stackRelays: this.stackRelays,
        control: this.control,
        current,
        selfPeer: this.conn.peerId,
        directPeers: this.conn.directPeers(),
      }),
      now,
    );
    const rates = new Map<string, RelayRates | null>();
    for (const relay of topology.relays) {
      if (current && relay.id && relay.stats)
        rates.set(relay.key, this.rates.update(relay.key, relay.id, relay.stats, now));
      else if (!relay.reachable) this.rates.forget(relay.key);
    }
    this.events.update({ topology, rates, current, reportedAt: last?.at ?? 0 });
  }

  private async inspectAll(): Promise<{ own: string; reports: Map<string, RelaySnapshot | null>; at: number }> {
    const own = await this.conn.inspect(undefined, { timeout: INSPECT_TIMEOUT_MS });
    const reports = new Map<string, RelaySnapshot | null>([[own.relayId, own]]);
    const mentioned = new Map<string, string>();
    const learn = (report: RelaySnapshot) => {
      for (const relay of report.directory) mentioned.set(relay.relayId, relay.address);
      for (const link of report.links) mentioned.set(link.relayId, link.address);
    };
    learn(own);
    // Two waves reach relays that only the others know of; three relays need one.
    for (let wave = 0; wave < 2; wave++) {
      const pending = [...mentioned.keys()].filter((id) => !reports.has(id));
      if (pending.length === 0) break;
      const answers = await Promise.allSettled(
        pending.map((id) => this.conn.inspect(id, { timeout: INSPECT_TIMEOUT_MS })),
      );
      answers.forEach((answer, i) => {
        const id = pending[i]!;
        reports.set(id, answer.status === "fulfilled" ? answer.value : null);
        if (answer.status === "fulfilled") learn(answer.value);
      });
    }
    this.addresses.clear();
    for (const [id, address] of mentioned) this.addresses.set(id, address);
    return { own: own.relayId, reports, at: Date.now() };
  }
}
