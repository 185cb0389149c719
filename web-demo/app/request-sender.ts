// Every request the page sends goes through here, whichever panel asked (the request panel, the guide,
// the steady stream during a relay outage): one place counts them for the charts, finds who answered
// and by which route (for the traffic drawn on the topology), diagnoses failures, and tells whoever
// listens (the guide ticks a step, the outage tally counts).

import type { Connection } from "../../core/browser.ts";
import type { ConnectionState } from "./connection-state.ts";
import { diagnose } from "./diagnosis.ts";
import type { Diagnosis } from "./diagnosis.ts";
import type { Metrics } from "./metrics.ts";

export type RequestRoute = "relay" | "direct";

export interface Answer {
  ok: true;
  cluster: string;
  text: string;
  /** Who answered, by the name it gives in its answer ("tab 1a2b3c", "echo-member-2"). */
  responder: string;
  /** The answer without the responder's own "name says:" prefix. */
  said: string;
  ms: number;
  route: RequestRoute;
  /** When it was sent and answered (performance.now()). */
  sentAt: number;
}

export interface Failure {
  ok: false;
  cluster: string;
  diagnosis: Diagnosis;
  ms: number;
  sentAt: number;
}

export type Outcome = Answer | Failure;

export interface SendContext {
  development: boolean;
}

/** Who answered, from the answer's own words: "tab 1a2b3c says: ..." or "echo-member-2 heard: ...". */
export function splitAnswer(text: string): { responder: string; said: string } {
  const match = /^(.{1,60}?) (says|heard): ?/.exec(text);
  if (!match) return { responder: "a member", said: text };
  return { responder: match[1]!, said: `${match[2]}: ${text.slice(match[0].length)}` };
}

export class RequestSender {
  private readonly sentListeners = new Set<(cluster: string, sentAt: number) => void>();
  private readonly outcomeListeners = new Set<(outcome: Outcome) => void>();

  constructor(
    private readonly conn: Connection,
    private readonly connection: ConnectionState,
    private readonly metrics: Metrics,
    private readonly context: SendContext,
  ) {}

  /** Sends one request; resolves with its outcome (never rejects). */
  async send(cluster: string, body: string, timeoutMs: number): Promise<Outcome> {
    const sentAt = performance.now();
    const before = this.conn.requestRoutes;
    const pending = this.conn.request(cluster, body, { timeout: timeoutMs });
    // The call goes out (or into the outbox) synchronously, so the counters already say which way.
    const route: RequestRoute = this.conn.requestRoutes.direct > before.direct ? "direct" : "relay";
    this.metrics.count("sent", 1, cluster);
    for (const listener of this.sentListeners) listener(cluster, sentAt);
    let outcome: Outcome;
    try {
      const text = new TextDecoder().decode(await pending);
      const ms = performance.now() - sentAt;
      this.metrics.count("answered", 1, cluster);
      this.metrics.latency(ms);
      outcome = { ok: true, cluster, text, ms, route, sentAt, ...splitAnswer(text) };
    } catch (error) {
      const state = this.connection.snapshot;
      const diagnosis = diagnose(error, {
        kind: "cluster",
        name: cluster,
        development: this.context.development,
        disconnected: this.connection.disconnectedSince(sentAt),
        lastDrop: state.lastDrop,
      });
      this.metrics.count("failed", 1, cluster);
      outcome = { ok: false, cluster, diagnosis, ms: performance.now() - sentAt, sentAt };
    }
    for (const listener of this.outcomeListeners) listener(outcome);
    return outcome;
  }

  onSent(listener: (cluster: string, sentAt: number) => void): void {
    this.sentListeners.add(listener);
  }

  onOutcome(listener: (outcome: Outcome) => void): void {
    this.outcomeListeners.add(listener);
  }
}
