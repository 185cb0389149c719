// Whether this tab is attached to a relay, and since when: the page's status line reads it, and so
// does the diagnosis of a failed request (a timeout while the tab had no relay is not a slow member).

import type { Connection } from "../../core/browser.ts";

export interface ConnectionSnapshot {
  attached: boolean;
  relay: string | null;
  /** When the current state began (performance.now() time). */
  since: number;
  /** Why the last relay was lost, in the relay link's words. */
  lastDrop: string | null;
}

export class ConnectionState {
  private attached: boolean;
  private relay: string | null;
  private since = performance.now();
  private lastDrop: string | null = null;
  /** When each disconnection began and ended (performance.now() times), the last few. */
  private readonly gaps: Array<{ from: number; to: number | null }> = [];
  private readonly listeners = new Set<(state: ConnectionSnapshot) => void>();

  constructor(conn: Connection) {
    this.attached = conn.relay !== null;
    this.relay = conn.relay;
    conn.on("attach", ({ relay }) => {
      this.attached = true;
      this.relay = relay;
      this.since = performance.now();
      const open = this.gaps.at(-1);
      if (open && open.to === null) open.to = this.since;
      this.notify();
    });
    conn.on("drop", ({ relay, reason }) => {
      this.attached = false;
      this.relay = relay;
      this.since = performance.now();
      this.lastDrop = `${relay}: ${reason}`;
      this.gaps.push({ from: this.since, to: null });
      if (this.gaps.length > 20) this.gaps.shift();
      this.notify();
    });
  }

  get snapshot(): ConnectionSnapshot {
    return { attached: this.attached, relay: this.relay, since: this.since, lastDrop: this.lastDrop };
  }

  /** Whether the tab was without a relay at any moment since `start` (performance.now() time). */
  disconnectedSince(start: number): boolean {
    if (!this.attached) return true;
    return this.gaps.some((gap) => (gap.to ?? Number.POSITIVE_INFINITY) >= start);
  }

  onChange(listener: (state: ConnectionSnapshot) => void): void {
    this.listeners.add(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener(this.snapshot);
  }
}
