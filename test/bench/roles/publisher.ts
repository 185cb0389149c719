// Role: publish numbered messages for a while, as fast as the client's own flow control allows.

import type { PublishArgs, PublishResult } from "../protocol.ts";
import type { BenchClient } from "./client.ts";
import { numbered, template } from "./payload.ts";
import { serveRole } from "./role.ts";

const TICK_MS = 50;
/** The clock is read once per this many messages: cheap, and still ends a phase within a millisecond or so. */
const CLOCK_EVERY = 16;

let drops = 0;
const dropReasons: string[] = [];
/** The client whose drops are counted: a role process serves a new client every round. */
let listeningTo: BenchClient | null = null;

serveRole((client) => ({
  async publish(args: PublishArgs): Promise<PublishResult> {
    const bench = client();
    if (listeningTo !== bench) {
      listeningTo = bench;
      drops = 0;
      dropReasons.length = 0;
      bench.onDrop((reason) => {
        drops++;
        if (dropReasons.length < 3) dropReasons.push(reason);
      });
    }
    const dropsBefore = drops;
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
    const body = template(args.payload, args.size);
    const started = performance.now();
    const deadline = started + args.durationMs;
    let sent = 0;
    try {
      for (let seq = args.from; ; seq++) {
        if (sent % CLOCK_EVERY === 0 && performance.now() >= deadline) break;
        const wait = bench.publish(args.subject, numbered(body, seq));
        sent++;
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
    return {
      sent,
      elapsedMs: ended - started,
      drops: drops - dropsBefore,
      dropReasons: dropReasons.slice(),
      longestStallMs,
    };
  },
}));
