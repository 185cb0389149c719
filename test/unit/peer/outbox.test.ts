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

test("flush() resolves only once everything written, queued or handed over, has left the link", async () => {
  const [link, other] = memoryLinkPair();
  let received = 0;
  other.listen({ frame: () => void received++, close: () => {} });
  // The other end reads nothing for now: what is sent stays in the link, and past 4 KiB in the outbox.
  other.pause();
  const outbox = new Outbox(systemClock, nodeScheduling.yieldToEventLoop, 4096, 1);
  outbox.attach(link);
  const writes = Array.from({ length: 20 }, () => outbox.write(new Uint8Array(1024)));
  let flushed = false;
  const flush = outbox.flush(10_000).then(() => (flushed = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(flushed, false, "flush waits while the link holds frames");
  assert.ok(outbox.pending > 0 && link.bufferedAmount > 0);
  other.resume();
  await flush;
  await Promise.all(writes);
  assert.equal(outbox.pending, 0);
  assert.equal(link.bufferedAmount, 0);
  assert.equal(received, 20);
  link.close();
});

test("flush() gives up when nothing moves for its stall time, and at once without a link", async () => {
  const [link, other] = memoryLinkPair();
  other.listen({ frame: () => {}, close: () => {} });
  other.pause();
  const outbox = new Outbox(systemClock, nodeScheduling.yieldToEventLoop, 4096, 1);
  outbox.attach(link);
  void outbox.write(new Uint8Array(1024)).catch(() => {});
  const started = performance.now();
  await outbox.flush(100);
  const waited = performance.now() - started;
  assert.ok(waited >= 90 && waited < 2000, `gave up after ${waited} ms`);
  outbox.detach();
  await outbox.flush(10_000);
  link.close();
});
