// Role: publish warm-up then measured messages as fast as the client's own flow control allows.

import type { PublishArgs, PublishResult } from "../protocol.ts";
import { numbered, randomTemplate } from "./payload.ts";
import { serveRole } from "./role.ts";

serveRole((client) => ({
  async publish(args: PublishArgs): Promise<PublishResult> {
    const bench = client();
    const template = randomTemplate(args.size);
    const total = args.warmup + args.count;
    let started = 0;
    for (let seq = 0; seq < total; seq++) {
      if (seq === args.warmup) started = performance.now();
      const wait = bench.publish(args.subject, numbered(template, seq));
      if (wait) await wait;
    }
    await bench.flush();
    return { sent: args.count, elapsedMs: performance.now() - started };
  },
}));
