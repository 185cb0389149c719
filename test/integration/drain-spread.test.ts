// A draining relay spreads its peers over its neighbours: each peer is told the relays to go to in a
// different order, and goes to the first one it is told. Twenty peers on a relay with two neighbours
// end up ten and ten.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startBackbone, waitForStatus } from "../fixtures/network.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const keys = { news: generateKey() };
const PEERS = 20;

describe("a draining relay", { timeout: 90_000 }, () => {
  let relays: RelayProcess[] = [];
  const peers: Connection[] = [];

  before(async () => {
    relays = await startBackbone(3, ["--startup-grace", "0"]);
    // The draining relay is linked to both others: they are what it offers its peers.
    await waitForStatus([relays[0]!], ([first]) => first!.links.length === 2);
    for (let i = 0; i < PEERS; i++) {
      const peer = await connect({ relays: [relays[0]!.url], keys, reconnect: { initialDelay: 10, maxDelay: 200 } });
      await peer.subscribe("news", () => {});
      peers.push(peer);
    }
    await waitForStatus([relays[0]!], () => peers.every((peer) => peer.knownRelays.length === 3));
  });

  after(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    await Promise.all(relays.map((relay) => relay.stop()));
  });

  test("sends its peers to its neighbours evenly, not all to one", async () => {
    const moved = Promise.all(peers.map((peer) => peer.next("reconnect")));
    assert.equal(await relays[0]!.stop("SIGTERM"), 0);
    await moved;
    const counts = new Map<string, number>();
    for (const peer of peers) counts.set(peer.relay!, (counts.get(peer.relay!) ?? 0) + 1);
    assert.deepEqual([...counts.values()].sort(), [PEERS / 2, PEERS / 2], JSON.stringify(Object.fromEntries(counts)));
  });
});
