// Readiness: listening, not draining, and linked to the backbone when the relay was given seeds.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readiness } from "../../../relay-server/health.ts";

const up = { listening: true, draining: false, seeds: 0, relayLinks: 0 };

test("a listening relay without seeds is ready alone", () => {
  assert.deepEqual(readiness(up), { ready: true, reasons: [] });
});

test("a relay with seeds is ready once linked to the backbone", () => {
  assert.deepEqual(readiness({ ...up, seeds: 2 }), {
    ready: false,
    reasons: ["no link to the backbone yet (2 seeds)"],
  });
  assert.equal(readiness({ ...up, seeds: 2, relayLinks: 1 }).ready, true);
});

test("a draining or stopped relay is not ready, and says why", () => {
  assert.deepEqual(readiness({ ...up, draining: true, listening: false, relayLinks: 3, seeds: 1 }).reasons, [
    "not listening",
    "draining",
  ]);
});
