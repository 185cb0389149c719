// Asks relays for their reports (RelaySnapshot: links, peers, trees): the peer's own relay, or any relay
// of the network by id, reached over the overlay. Reports come back as JSON in InspectReply frames,
// matched to their question by a correlation number.

import { fromHex } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import { ProtocolError, RemoteError, TimeoutError } from "../errors.ts";
import type { Outbox } from "./outbox.ts";
import type { RelaySnapshot } from "../wire/relay-report.ts";
import { FrameType, MAX_HOPS, RELAY_ID_BYTES, encodeFrame } from "../wire/frames.ts";
import type { InspectReplyFrame } from "../wire/frames.ts";

/**
 * Options of {@link Connection.inspect}.
 *
 * @example
 * ```ts
 * const report = await conn.inspect(undefined, { timeout: 2000 });
 * ```
 */
export interface InspectOptions {
  /** How long to wait for the report. Default 5 s. */
  timeout?: number;
  /** Gives up waiting for the report, and rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface Question {
  answer(report: string): void;
  fail(error: Error): void;
}

export class Inspector {
  private readonly questions = new Map<number, Question>();
  private nextCorr = 1;

  constructor(
    private readonly clock: Clock,
    private readonly outbox: Outbox,
  ) {}

  /** The report of relay `relayId` (hex), or of the peer's own relay when it is omitted. */
  ask(relayId: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<RelaySnapshot> {
    const timeoutError = new TimeoutError(`no inspection report within ${timeoutMs} ms`);
    // The all-zero id means "whichever relay this reaches first": the peer's own.
    const target = relayId ? fromHex(relayId) : new Uint8Array(RELAY_ID_BYTES);
    if (target.length !== RELAY_ID_BYTES)
      return Promise.reject(new TypeError(`a relay id is ${RELAY_ID_BYTES * 2} hex digits`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const corr = this.nextCorr++;
    return new Promise<RelaySnapshot>((resolve, reject) => {
      const onAbort = () => {
        settle();
        reject(signal!.reason);
      };
      const settle = () => {
        this.questions.delete(corr);
        this.clock.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const timer = this.clock.setTimeout(() => {
        settle();
        reject(timeoutError);
      }, timeoutMs);
      this.questions.set(corr, {
        answer: (report) => {
          settle();
          let parsed: RelaySnapshot | { error: string };
          try {
            parsed = JSON.parse(report) as RelaySnapshot | { error: string };
          } catch {
            return reject(new ProtocolError("inspection failed: the report is not JSON"));
          }
          if ("error" in parsed) reject(new RemoteError(`inspection failed: ${parsed.error}`));
          else resolve(parsed);
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      });
      const frame = encodeFrame({
        type: FrameType.Inspect,
        hops: MAX_HOPS,
        corr,
        origin: new Uint8Array(RELAY_ID_BYTES),
        target,
      });
      // A write that never leaves the outbox is reported by the timer above.
      this.outbox.write(frame, timeoutMs).catch(() => {});
    });
  }

  onReply(frame: InspectReplyFrame): void {
    this.questions.get(frame.corr)?.answer(frame.report);
  }

  /** The connection is closing: questions still open fail now rather than at their timeout. */
  failAll(error: Error): void {
    for (const question of [...this.questions.values()]) question.fail(error);
  }
}
