// Asks the relays for their reports about once a second: this tab's relay first (conn.inspect()), then
// every relay it or the others know of, by id, over the overlay (conn.inspect(id)). The next round
// starts only after the last one finished, so a slow relay never piles up inspections.

import type { Connection, RelaySnapshot } from "../../../core/browser.ts";
import { buildTopology } from "./model.ts";
import type { Topology } from "./model.ts";

const INTERVAL_MS = 1000;
const INSPECT_TIMEOUT_MS = 2500;

export interface PollerEvents {
  update(topology: Topology): void;
  /** This tab's own relay did not answer (null once it answers again). */
  trouble(message: string | null): void;
}

export class TopologyPoller {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** Relay addresses learned from directories, kept while a relay stays mentioned by anyone. */
  private readonly addresses = new Map<string, string>();

  constructor(
    private readonly conn: Connection,
    private readonly events: PollerEvents,
  ) {}

  start(): void {
    void this.round();
  }

  /** Polls again now, e.g. right after this tab joined something, instead of at the next tick. */
  refresh(): void {
    if (this.timer === null) return; // a round is running; it will show the change
    clearTimeout(this.timer);
    this.timer = null;
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  private async round(): Promise<void> {
    try {
      const topology = await this.inspectAll();
      this.events.trouble(null);
      this.events.update(topology);
    } catch (error) {
      this.events.trouble(`Topology unavailable: ${(error as Error).message}`);
    }
    if (!this.stopped)
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.round();
      }, INTERVAL_MS);
  }

  private async inspectAll(): Promise<Topology> {
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
    return buildTopology({
      ownRelay: own.relayId,
      reports,
      addresses: this.addresses,
      selfPeer: this.conn.peerId,
      directPeers: this.conn.directPeers(),
    });
  }
}
