// Rates from a relay's counters (web-demo/app/relays/relay-rates.ts): differences over the relay's own
// uptime, application messages only, and a fresh start after a restart rather than a negative rate.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { RelaySnapshot } from "../../../core/index.ts";
import { RatesOverTime, messagesIn } from "../../../web-demo/app/relays/relay-rates.ts";

type Stats = NonNullable<RelaySnapshot["stats"]>;

function stats(uptimeMs: number, requests: number, pings: number, bytes: number): Stats {
  return {
    uptimeMs,
    peers: 1,
    relayLinks: 2,
    queuedBytes: 0,
    tunnelsOpen: 0,
    pendingRequests: 0,
    framesIn: requests + pings,
    framesOut: 0,
    bytesIn: bytes,
    bytesOut: bytes,
    slowConsumerDrops: 0,
    slowConsumerDisconnects: 0,
    pausedSenders: 0,
    pauses: 0,
    pausedMs: 0,
    requestsPlaced: 0,
    requestsPlacedAgain: 0,
    refused: {},
    byKind: {
      Request: { framesIn: requests, bytesIn: 0, framesOut: 0, bytesOut: 0 },
      Ping: { framesIn: pings, bytesIn: 0, framesOut: 0, bytesOut: 0 },
    },
  };
}

test("messages per second count the application's frames, over the relay's own clock", () => {
  assert.equal(messagesIn(stats(0, 7, 100, 0)), 7);
  const rates = new RatesOverTime();
  assert.equal(rates.update("a", "id1", stats(10_000, 100, 50, 1000), 0), null, "one report gives no rate");
  // 2 s of the relay's time, whatever the page's clock says.
  assert.deepEqual(rates.update("a", "id1", stats(12_000, 140, 90, 3000), 5000), { messagesIn: 20, bytes: 2000 });
});

test("a restarted relay (new id, or uptime gone back) starts over instead of giving a negative rate", () => {
  const rates = new RatesOverTime();
  rates.update("a", "id1", stats(10_000, 100, 0, 1000), 0);
  assert.equal(rates.update("a", "id2", stats(1_000, 5, 0, 10), 1000), null);
  assert.deepEqual(rates.update("a", "id2", stats(2_000, 15, 0, 20), 2000), { messagesIn: 10, bytes: 20 });
  rates.update("b", "id3", stats(10_000, 100, 0, 0), 0);
  assert.equal(rates.update("b", "id3", stats(500, 1, 0, 0), 1), null);
});
