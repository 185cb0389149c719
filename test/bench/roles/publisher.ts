// Role: publish warm-up then measured messages as fast as the client's own flow control allows.

import type { PublishArgs, PublishResult } from "../protocol.ts";
import { numbered, randomTemplate } from "./payload.ts";
import { serveRole } from "./role.ts";

const TICK_MS = 50;

serveRole((client) => ({
  async publish(args: PublishArgs): Promise<PublishResult> {
    const bench = client();
    let drops = 0;
    const dropReasons: string[] = [];
    bench.onDrop((reason) => {
      drops++;
      if (dropReasons.length < 3) dropReasons.push(reason);
    });
    // How long this process goes without a turn of its event loop (no timers, no socket reads, so no
    // heartbeats answered) while it publishes: a loop of awaited publishes that all resolve at once never
    // yields. Measured with a ticking timer, whose gaps show the stalls.
    let lastTick = performance.now();
    let longestStallMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestStallMs = Math.max(longestStallMs, now - lastTick);
      lastTick = now;
    }, TICK_MS);
    const template = randomTemplate(args.size);
    const total = args.warmup + args.count;
    let started = 0;
    try {
      for (let seq = 0; seq < total; seq++) {
        if (seq === args.warmup) started = performance.now();
        const wait = bench.publish(args.subject, numbered(template, seq));
        if (wait) await wait;
      }
      await bench.flush();
    } finally {
      clearInterval(ticker);
    }
    const ended = performance.now();
    longestStallMs = Math.max(longestStallMs, ended - lastTick);
    // One turn of the event loop, so timers overdue from a stall (the client's heartbeat check) run and a
    // drop they cause is counted.
    await new Promise((resolve) => setTimeout(resolve, 0));
    return { sent: args.count, elapsedMs: ended - started, drops, dropReasons, longestStallMs };
  },
}));
