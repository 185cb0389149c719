// Rates from a relay's counters: a relay reports totals since it started, so rates are the difference
// between two reports over the time between them. A relay started again (new id, or a smaller uptime)
// starts over: its first report after that gives no rate yet, rather than a negative one.

import type { RelaySnapshot } from "../../../core/browser.ts";

type Stats = NonNullable<RelaySnapshot["stats"]>;

/**
 * Frames that carry the application's messages. Heartbeats, joins, tree updates and inspections (the
 * page's own polling among them) are the mesh talking to itself, not traffic a person sent.
 */
export const MESSAGE_KINDS = [
  "Request",
  "Reply",
  "Broadcast",
  "Publish",
  "TunnelOpen",
  "TunnelAccept",
  "TunnelData",
  "TunnelClose",
] as const;

export interface RelayRates {
  /** Application messages arriving per second. */
  messagesIn: number;
  /** All bytes in and out per second. */
  bytes: number;
}

export function messagesIn(stats: Stats): number {
  let total = 0;
  for (const kind of MESSAGE_KINDS) total += stats.byKind[kind]?.framesIn ?? 0;
  return total;
}

export class RatesOverTime {
  private readonly last = new Map<string, { id: string; at: number; stats: Stats }>();

  /** The rates of the relay at `key` (its address) given its report now; null until two reports. */
  update(key: string, id: string, stats: Stats, at: number): RelayRates | null {
    const before = this.last.get(key);
    this.last.set(key, { id, at, stats });
    if (!before || before.id !== id || stats.uptimeMs < before.stats.uptimeMs) return null;
    // The relay's own clock measures the interval: the page's polls are not evenly spaced.
    const seconds = (stats.uptimeMs - before.stats.uptimeMs) / 1000 || (at - before.at) / 1000;
    if (!(seconds > 0)) return null;
    return {
      messagesIn: Math.max(0, (messagesIn(stats) - messagesIn(before.stats)) / seconds),
      bytes: Math.max(0, (stats.bytesIn + stats.bytesOut - before.stats.bytesIn - before.stats.bytesOut) / seconds),
    };
  }

  forget(key: string): void {
    this.last.delete(key);
  }
}
