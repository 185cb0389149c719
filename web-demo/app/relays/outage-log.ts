// The tally that shows healing: from the moment a relay stops being up until every relay is up again,
// count this tab's requests and how they ended. "312 requests during the outage, 0 failed" is the
// claim the dashboard exists to make, so the count is of real requests (every request this tab sends
// passes through request-sender.ts), and failures keep their diagnosis.

import { FailureGroups } from "../diagnosis.ts";
import type { Outcome } from "../request-sender.ts";
import type { Topology } from "../topology/model.ts";

export interface Outage {
  /** What went down first, in words: "relay 2 (killed from this page)". */
  what: string;
  /** performance.now() times; `ended` is null while it lasts. */
  started: number;
  ended: number | null;
  /** Wall-clock start, for the words. */
  startedAt: number;
  sent: number;
  answered: number;
  failed: number;
  failures: FailureGroups;
}

const KEPT = 3;
/**
 * A relay that misses this many inspections in a row (about one a second) is down. One missed
 * inspection is not an outage: on a busy machine, or while a relay is still linking into the backbone,
 * an answer can come late, and a tab must not report (and its guide tick off) a failure nobody caused.
 * What the stack says of a relay process (down, stopping, draining) counts at once.
 */
const SILENT_POLLS = 3;

export class OutageLog {
  private readonly outages: Outage[] = [];
  /** Why the next relay to go down went down, when this page asked for it (relay key -> words). */
  private readonly expected = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  /** Relays not answering, by key: how many observations in a row. */
  private readonly silentFor = new Map<string, number>();

  /** The page is about to stop `key`: name the cause when it goes down. */
  expect(key: string, how: string): void {
    this.expected.set(key, how);
  }

  get current(): Outage | null {
    const last = this.outages.at(-1);
    return last && last.ended === null ? last : null;
  }

  /** Newest first. */
  get all(): readonly Outage[] {
    return [...this.outages].reverse();
  }

  /** Follows the relays' conditions: an outage starts when one is known not to be up, ends when all are. */
  observe(topology: Topology, now = performance.now()): void {
    // A relay this tab cannot see for now (it has no relay itself) is not known to be down.
    const down = topology.relays.filter((relay) => {
      if (relay.condition !== "not answering") {
        this.silentFor.delete(relay.key);
        return relay.condition !== "up" && relay.condition !== "unknown";
      }
      const polls = (this.silentFor.get(relay.key) ?? 0) + 1;
      this.silentFor.set(relay.key, polls);
      return polls >= SILENT_POLLS;
    });
    const current = this.current;
    if (down.length > 0 && !current) {
      const first = down[0]!;
      const how = this.expected.get(first.key);
      this.outages.push({
        what: `${first.name}${how ? ` (${how})` : ` (${first.condition})`}`,
        started: now,
        ended: null,
        startedAt: Date.now(),
        sent: 0,
        answered: 0,
        failed: 0,
        failures: new FailureGroups(),
      });
      if (this.outages.length > KEPT) this.outages.shift();
      this.changed();
    } else if (down.length === 0 && current) {
      current.ended = now;
      this.expected.clear();
      this.changed();
    }
  }

  /** A request left this tab at `sentAt`. */
  sent(sentAt: number): void {
    const outage = this.during(sentAt);
    if (!outage) return;
    outage.sent++;
    this.changed();
  }

  /** A request ended; it counts toward the outage it was sent in, whenever it ends. */
  settled(outcome: Outcome): void {
    const outage = this.during(outcome.sentAt);
    if (!outage) return;
    if (outcome.ok) outage.answered++;
    else {
      outage.failed++;
      outage.failures.add(outage.sent, outcome.diagnosis);
    }
    this.changed();
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private during(at: number): Outage | null {
    for (const outage of this.outages) {
      if (at >= outage.started && (outage.ended === null || at <= outage.ended)) return outage;
    }
    return null;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
