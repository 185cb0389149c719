// The outbox must let the event loop turn even when the link keeps up and no write ever has to wait:
// a publisher awaiting each publish in a loop must not starve its own timers and socket reads.
// Imports the Node entry, which installs Node's way of yielding, as every Node application does.

import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeScheduling } from "../../../core/node.ts";
import { Outbox } from "../../../core/peer/outbox.ts";
import { systemClock } from "../../../core/util/clock.ts";
import { memoryLinkPair } from "../../../core/transports/memory.ts";

test("a writer whose writes never wait still lets timers run, again and again", async () => {
  const [link, other] = memoryLinkPair();
  other.listen({ frame: () => {}, close: () => {} });
  const outbox = new Outbox(systemClock, nodeScheduling.yieldToEventLoop, Number.MAX_SAFE_INTEGER);
  outbox.attach(link);
  // A heartbeat-like timer every 5 ms, for as long as the writer runs: 300 ms of writes that never wait
  // for buffer space. Before the fix it did not run once (Node delivered each yield's message in the
  // same turn as the previous one).
  let ticks = 0;
  const interval = setInterval(() => ticks++, 5);
  const started = Date.now();
  let writes = 0;
  while (Date.now() - started < 300) {
    await outbox.write(new Uint8Array(16));
    writes++;
  }
  clearInterval(interval);
  link.close();
  // Progress, not speed: on a loaded machine a write may take much longer than on a quiet one.
  assert.ok(writes > 100, `the writer kept writing (${writes} writes)`);
  assert.ok(ticks >= 5, `the timer ran ${ticks} times while the writer wrote`);
});
