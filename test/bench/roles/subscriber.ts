// Role: subscribe to a topic and count what arrives, timing the measured messages in this process. It
// also notes where messages went missing or arrived out of order, and whether its connection to the
// server dropped just before, so that a loss can be told apart from a slow-consumer disconnect.
// Everything counts as warm-up until the orchestrator says from which sequence number to measure.

import type { MeasureArgs, SubscribeArgs, SubscriberReport } from "../protocol.ts";
import { sequenceOf } from "./payload.ts";
import { serveRole } from "./role.ts";

const MAX_REASONS = 3;
const MAX_EVENTS = 8;
/** Gaps remembered to count exactly what stayed missing in them (late arrivals fill them in). */
const MAX_GAPS = 10_000;

function emptyReport(): SubscriberReport {
  return {
    received: 0,
    warmupReceived: 0,
    outOfOrder: 0,
    wrongSize: 0,
    gaps: 0,
    missing: 0,
    gapsAfterDrop: 0,
    missingAfterDrop: 0,
    late: 0,
    duplicates: 0,
    drops: 0,
    dropReasons: [],
    events: [],
    firstAt: 0,
    lastAt: 0,
    longestGapMs: 0,
  };
}

// What this subscription has seen. A role process serves a new client every round, and subscribe()
// starts all of it afresh.
let report = emptyReport();
let expectedSize = -1;
let measureFrom = Number.POSITIVE_INFINITY;
let lastSeq = -1;
let highestSeq = -1;
/** One flag per sequence number seen, grown as needed. */
let seen = new Uint8Array(1 << 17);
let gaps: Array<{ from: number; to: number; afterDrop: boolean }> = [];
/** Whether the connection dropped since the last message: a gap then is (at least) that disconnection's loss. */
let droppedSinceLast = false;
let subscribedAt = 0;

function reset(size: number): void {
  report = emptyReport();
  expectedSize = size;
  measureFrom = Number.POSITIVE_INFINITY;
  lastSeq = -1;
  highestSeq = -1;
  seen = new Uint8Array(1 << 17);
  gaps = [];
  droppedSinceLast = false;
  subscribedAt = performance.now();
}

const epochNow = () => performance.timeOrigin + performance.now();

function event(text: string): void {
  if (report.events.length < MAX_EVENTS)
    report.events.push(`${(performance.now() - subscribedAt).toFixed(0)} ms: ${text}`);
}

function markSeen(seq: number): boolean {
  if (seq >= seen.length) {
    const grown = new Uint8Array(Math.max(seen.length * 2, seq + 1));
    grown.set(seen);
    seen = grown;
  }
  const before = seen[seq] === 1;
  seen[seq] = 1;
  return before;
}

/** What stayed missing in each gap up to now: the sequence numbers in it that never arrived. */
function countMissing(): void {
  report.missing = 0;
  report.missingAfterDrop = 0;
  for (const gap of gaps) {
    let missing = 0;
    for (let seq = gap.from; seq <= gap.to; seq++) if (seen[seq] !== 1) missing++;
    report.missing += missing;
    if (gap.afterDrop) report.missingAfterDrop += missing;
  }
}

function onMessage(body: Uint8Array): void {
  const seq = sequenceOf(body);
  if (body.length !== expectedSize) report.wrongSize++;
  if (seq <= lastSeq) report.outOfOrder++;
  lastSeq = seq;
  if (markSeen(seq)) {
    report.duplicates++;
    event(`seq ${seq} again`);
    return;
  }
  if (seq < highestSeq) {
    report.late++;
    if (report.late === 1) event(`seq ${seq} arrived late, after seq ${highestSeq}`);
  } else if (seq > highestSeq + 1) {
    // Sequence numbers start at 0, so messages lost before the first that arrives count too.
    report.gaps++;
    if (droppedSinceLast) report.gapsAfterDrop++;
    if (gaps.length < MAX_GAPS) gaps.push({ from: highestSeq + 1, to: seq - 1, afterDrop: droppedSinceLast });
    event(
      `seq ${seq} after seq ${highestSeq}${droppedSinceLast ? ", the first since the drop" : ", with no drop in between"}`,
    );
  }
  highestSeq = Math.max(highestSeq, seq);
  droppedSinceLast = false;
  if (seq < measureFrom) {
    report.warmupReceived++;
    return;
  }
  const now = epochNow();
  if (report.received === 0) report.firstAt = now;
  else report.longestGapMs = Math.max(report.longestGapMs, now - report.lastAt);
  report.lastAt = now;
  report.received++;
}

serveRole((client) => ({
  async subscribe(args: SubscribeArgs) {
    reset(args.size);
    client().onDrop((reason) => {
      report.drops++;
      if (report.dropReasons.length < MAX_REASONS) report.dropReasons.push(reason);
      event(`connection dropped after seq ${highestSeq} (${reason})`);
      droppedSinceLast = true;
    });
    client().onReconnect((server) => event(`subscribed again through ${server}`));
    await client().subscribe(args.subject, onMessage);
    return true;
  },
  async measure(args: MeasureArgs) {
    measureFrom = args.from;
    return true;
  },
  async report() {
    countMissing();
    return report;
  },
}));
