// Role: send requests, either one at a time timing each round trip (latency), or many at once for a
// while counting the replies (throughput).

import type { LoadArgs, LoadResult, RequestRunArgs, RequestRunResult } from "../protocol.ts";
import { numbered, randomTemplate } from "./payload.ts";
import { serveRole } from "./role.ts";

serveRole((client) => ({
  async run(args: RequestRunArgs): Promise<RequestRunResult> {
    const bench = client();
    const template = randomTemplate(args.size);
    const result: RequestRunResult = { samplesUs: [], failures: 0, firstFailure: null };
    // A run by duration samples whatever the server does meanwhile (timers, periodic work) evenly.
    let measuringUntil = Number.POSITIVE_INFINITY;
    const more = (seq: number) =>
      args.durationMs === undefined ? seq < args.warmup + args.count : performance.now() < measuringUntil;
    for (let seq = 0; more(seq); seq++) {
      if (seq === args.warmup && args.durationMs !== undefined) measuringUntil = performance.now() + args.durationMs;
      const body = numbered(template, seq);
      const started = performance.now();
      try {
        const reply = await bench.request(args.subject, body, args.timeoutMs);
        const elapsedUs = (performance.now() - started) * 1000;
        if (reply.length !== args.size) throw new Error(`reply of ${reply.length} bytes, expected ${args.size}`);
        if (seq >= args.warmup) result.samplesUs.push(elapsedUs);
      } catch (error) {
        result.failures++;
        result.firstFailure ??= `request ${seq}: ${(error as Error).message}`;
      }
    }
    return result;
  },

  /** `inflight` workers, each sending its next request as soon as its reply is in, until the time is up. */
  async load(args: LoadArgs): Promise<LoadResult> {
    const bench = client();
    const template = randomTemplate(args.size);
    const result: LoadResult = { completed: 0, failures: 0, firstFailure: null, elapsedMs: 0 };
    const started = performance.now();
    const deadline = started + args.durationMs;
    let seq = 0;
    const worker = async () => {
      while (performance.now() < deadline) {
        const n = seq++;
        try {
          const reply = await bench.request(args.subject, numbered(template, n), args.timeoutMs);
          if (reply.length !== args.size) throw new Error(`reply of ${reply.length} bytes, expected ${args.size}`);
          result.completed++;
        } catch (error) {
          result.failures++;
          result.firstFailure ??= `request ${n}: ${(error as Error).message}`;
        }
      }
    };
    await Promise.all(Array.from({ length: args.inflight }, worker));
    result.elapsedMs = performance.now() - started;
    return result;
  },
}));
