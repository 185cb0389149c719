// Role: subscribe to a topic and count what arrives, timing the measured messages in this process.

import type { SubscribeArgs, SubscriberReport } from "../protocol.ts";
import { sequenceOf } from "./payload.ts";
import { serveRole } from "./role.ts";

const report: SubscriberReport = { received: 0, warmupReceived: 0, outOfOrder: 0, wrongSize: 0, firstAt: 0, lastAt: 0 };
let expectedSize = -1;
let lastSeq = -1;

serveRole((client) => ({
  async subscribe(args: SubscribeArgs) {
    expectedSize = args.size;
    await client().subscribe(args.subject, (body) => {
      const now = performance.now();
      const seq = sequenceOf(body);
      if (body.length !== expectedSize) report.wrongSize++;
      if (seq <= lastSeq) report.outOfOrder++;
      lastSeq = seq;
      if (seq < args.warmup) {
        report.warmupReceived++;
        return;
      }
      if (report.received === 0) report.firstAt = now;
      report.lastAt = now;
      report.received++;
    });
    return true;
  },
  async report() {
    return report;
  },
}));
