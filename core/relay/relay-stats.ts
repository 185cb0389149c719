// What a relay counts about its own traffic, for operators (Prometheus metrics on the relay server)
// and the dashboard (the `stats` of a relay's report). Counting must cost the hot path an increment and
// nothing more: totals per frame type live in typed arrays indexed by the type byte, and everything
// that is a level rather than a count (peers, queued bytes, open tunnels) is read when a report is made.

import { frameName } from "../wire/frames.ts";
import type { RelayStatsReport } from "../wire/relay-report.ts";

/** Why a relay refused a link or a handshake: the reasons operators tell apart. */
export type Refusal = "address-limit" | "auth-failed" | "handshake-timeout" | "network-key" | "protocol" | "relay-full";

export class RelayStats {
  readonly framesIn = new Float64Array(256);
  readonly bytesIn = new Float64Array(256);
  readonly framesOut = new Float64Array(256);
  readonly bytesOut = new Float64Array(256);
  /** Frames a full outbound queue refused (lost), and peers cut for it. */
  slowConsumerDrops = 0;
  slowConsumerDisconnects = 0;
  /** Requests placed on a member or a relay below, and placed again after the first choice failed. */
  requestsPlaced = 0;
  requestsPlacedAgain = 0;
  readonly refused: Record<Refusal, number> = {
    "address-limit": 0,
    "auth-failed": 0,
    "handshake-timeout": 0,
    "network-key": 0,
    protocol: 0,
    "relay-full": 0,
  };

  constructor(readonly startedAt: number) {}

  /** A frame arrived; its type is its second byte (after the wire version). */
  countIn(frame: Uint8Array): void {
    const type = frame[1] ?? 0;
    this.framesIn[type]!++;
    this.bytesIn[type]! += frame.length;
  }

  countOut(frame: Uint8Array): void {
    const type = frame[1] ?? 0;
    this.framesOut[type]!++;
    this.bytesOut[type]! += frame.length;
  }

  refuse(reason: Refusal): void {
    this.refused[reason]++;
  }

  /** The counters as a report; `levels` are what the relay measures at the moment of asking. */
  report(
    now: number,
    levels: Pick<
      RelayStatsReport,
      | "peers"
      | "relayLinks"
      | "queuedBytes"
      | "tunnelsOpen"
      | "pendingRequests"
      | "pausedSenders"
      | "pauses"
      | "pausedMs"
    >,
  ): RelayStatsReport {
    const byKind: RelayStatsReport["byKind"] = {};
    let framesIn = 0;
    let framesOut = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    for (let type = 0; type < 256; type++) {
      const fin = this.framesIn[type]!;
      const fout = this.framesOut[type]!;
      if (fin === 0 && fout === 0) continue;
      byKind[frameName(type)] = {
        framesIn: fin,
        bytesIn: this.bytesIn[type]!,
        framesOut: fout,
        bytesOut: this.bytesOut[type]!,
      };
      framesIn += fin;
      framesOut += fout;
      bytesIn += this.bytesIn[type]!;
      bytesOut += this.bytesOut[type]!;
    }
    return {
      uptimeMs: now - this.startedAt,
      ...levels,
      framesIn,
      framesOut,
      bytesIn,
      bytesOut,
      slowConsumerDrops: this.slowConsumerDrops,
      slowConsumerDisconnects: this.slowConsumerDisconnects,
      requestsPlaced: this.requestsPlaced,
      requestsPlacedAgain: this.requestsPlacedAgain,
      refused: { ...this.refused },
      byKind,
    };
  }
}
