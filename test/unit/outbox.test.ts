// The outbox must let the event loop turn even when the link keeps up and no write ever has to wait:
// a publisher awaiting each publish in a loop must not starve its own timers and socket reads.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbox } from "../../core/outbox.ts";
import { systemClock } from "../../core/clock.ts";
import { memoryLinkPair } from "../../core/transports/memory.ts";

test("a writer whose writes never wait still yields to timers", async () => {
  const [link, other] = memoryLinkPair();
  other.listen({ frame: () => {}, close: () => {} });
  const outbox = new Outbox(systemClock, Number.MAX_SAFE_INTEGER);
  outbox.attach(link);
  let timerRan = false;
  setTimeout(() => (timerRan = true), 0);
  const started = Date.now();
  // 200 ms of writes that never wait for buffer space: a timer due at once must run meanwhile.
  while (Date.now() - started < 200 && !timerRan) await outbox.write(new Uint8Array(16));
  assert.ok(timerRan, "the timer ran while the writer kept writing");
  link.close();
});
