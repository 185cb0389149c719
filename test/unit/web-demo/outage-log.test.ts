// The healing tally's outages (web-demo/app/relays/outage-log.ts): what the stack says of a relay
// process counts at once; a relay that merely misses an inspection is not down until it has missed
// several in a row, so a busy machine does not make the dashboard report an outage nobody caused.

import { test } from "node:test";
import assert from "node:assert/strict";
import { OutageLog } from "../../../web-demo/app/relays/outage-log.ts";
import type { RelayCondition, Topology } from "../../../web-demo/app/topology/model.ts";

function topology(...conditions: RelayCondition[]): Topology {
  return {
    relays: conditions.map((condition, i) => ({
      key: `ws://127.0.0.1:${7600 + i}`,
      name: `relay ${i + 1}`,
      condition,
    })),
    peers: [],
    edges: [],
    services: [],
  } as unknown as Topology; // only the relays' key, name and condition are read
}

/** Read through a call: an assertion that it is null must not narrow later reads. */
const current = (log: OutageLog) => log.current;

test("a relay the stack reports down starts an outage at once, and it ends when every relay is up", () => {
  const log = new OutageLog();
  log.observe(topology("up", "up", "up"), 0);
  assert.equal(log.current, null);
  log.observe(topology("up", "down", "up"), 1000);
  assert.equal(current(log)?.what, "relay 2 (down)");
  log.observe(topology("up", "up", "up"), 9000);
  assert.equal(log.current, null);
  assert.equal(log.all[0]?.ended, 9000);
});

test("one or two missed inspections are no outage; three in a row are", () => {
  const log = new OutageLog();
  log.observe(topology("up", "not answering", "up"), 0);
  log.observe(topology("up", "not answering", "up"), 1000);
  log.observe(topology("up", "up", "up"), 2000);
  log.observe(topology("up", "not answering", "up"), 3000);
  log.observe(topology("up", "not answering", "up"), 4000);
  assert.equal(log.all.length, 0, "an answer in between starts the count again");
  log.observe(topology("up", "not answering", "up"), 5000);
  assert.equal(current(log)?.what, "relay 2 (not answering)");
  assert.equal(current(log)?.started, 5000);
});

test("a relay this tab cannot see (unknown) is not down", () => {
  const log = new OutageLog();
  for (let i = 0; i < 5; i++) log.observe(topology("unknown", "up"), i * 1000);
  assert.equal(log.all.length, 0);
});
