// A steady stream of requests (10 a second to one cluster), so that stopping a relay has something to
// interrupt: the outage tally then counts real requests and shows whether any failed. Started by the
// person, or by the page when a relay is stopped from it and nothing else is flowing (it says so, and
// stops again a little after the outage ends).

import type { RequestSender } from "../request-sender.ts";

export const STREAM_RATE = 10;
const TIMEOUT_MS = 10_000;

export class SteadyStream {
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopTimer: ReturnType<typeof setTimeout> | null = null;
  private cluster = "";
  /** Started by the page for an outage, rather than by the person. */
  automatic = false;
  sent = 0;
  answered = 0;
  failed = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly sender: RequestSender) {}

  get running(): boolean {
    return this.timer !== null;
  }

  get target(): string {
    return this.cluster;
  }

  /** Starts sending; if already sending, keeps going (and forgets any stop that was due). */
  start(cluster: string, automatic: boolean): void {
    this.cancelStop();
    if (this.running) return;
    this.cluster = cluster;
    this.automatic = automatic;
    this.sent = this.answered = this.failed = 0;
    this.timer = setInterval(() => {
      this.sent++;
      void this.sender.send(cluster, `steady #${this.sent}`, TIMEOUT_MS).then((outcome) => {
        if (outcome.ok) this.answered++;
        else this.failed++;
        this.changed();
      });
      this.changed();
    }, 1000 / STREAM_RATE);
    this.changed();
  }

  stop(): void {
    this.cancelStop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.changed();
  }

  /** Stops after `ms`, unless started again meanwhile (an automatic stream, once the outage is over). */
  stopAfter(ms: number): void {
    this.cancelStop();
    this.stopTimer = setTimeout(() => this.stop(), ms);
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private cancelStop(): void {
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.stopTimer = null;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
