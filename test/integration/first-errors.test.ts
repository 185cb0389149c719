// The errors a new user meets first, through the Node entry and real sockets: relays that refuse the
// TCP connection make connect() fail as soon as each was tried, with the causes (not after
// connectTimeout); an address that is not a ws:// or wss:// URL is refused before anything is dialed.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { UnreachableError, connect } from "../../core/node.ts";

/** A loopback port that refuses connections: bound by us a moment ago, closed now. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("connect() to relays that all refuse the connection rejects with every cause, with no deadline", async () => {
  const relays = [`ws://127.0.0.1:${await refusingPort()}`, `ws://127.0.0.1:${await refusingPort()}`];
  await assert.rejects(connect({ relays, connectTimeout: Number.POSITIVE_INFINITY }), (error: unknown) => {
    assert.ok(error instanceof UnreachableError, String(error));
    assert.deepEqual(error.causes.map((cause) => cause.relay).sort(), [...relays].sort());
    for (const cause of error.causes) {
      assert.match(cause.reason, /ECONNREFUSED/);
      assert.equal(cause.code, 1006);
    }
    for (const relay of relays) assert.ok(error.message.includes(relay), error.message);
    return true;
  });
});

test("a relay address that is not a ws:// or wss:// URL is refused at once, naming it", async () => {
  for (const bad of ["127.0.0.1:7600", "http://127.0.0.1:7600", "ws//127.0.0.1:7600", "", "wss://"]) {
    await assert.rejects(
      connect({ relays: ["ws://127.0.0.1:1", bad], connectTimeout: Number.POSITIVE_INFINITY }),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.includes("ws:// or wss://") &&
        error.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
  await assert.rejects(connect({ relays: [] }), TypeError);
});
