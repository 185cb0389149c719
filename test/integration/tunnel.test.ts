// Tunnels through a real relay process: a 64 MiB transfer to a deliberately slow reader arrives
// byte-exact, and the sender's memory stays bounded because credits hold it back.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { generateKey } from "../../core/node.ts";
import { seededBytes } from "../fixtures/data.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";

const MiB = 1024 * 1024;
const keys = { files: generateKey() };

interface SendResult {
  sha256: string;
  seconds: number;
  baselineRss: number;
  peakRss: number;
  baselineHeap: number;
  peakHeap: number;
}

describe("tunnel through a relay process", () => {
  let relay: RelayProcess;
  let sender: PeerProcess;
  let receiver: PeerProcess;

  before(async () => {
    relay = await startRelay();
    [sender, receiver] = await Promise.all([startPeer(), startPeer()]);
    await receiver.connect([relay.url], keys);
    // 256 messages of 256 KiB, 15 ms of "work" each: the reader is far slower than the link.
    await receiver.register("files", { kind: "echo" }, { tunnel: { kind: "hash", readDelayMs: 15 } });
    await sender.connect([relay.url], keys);
  });

  after(async () => {
    await Promise.all([sender?.stop(), receiver?.stop()]);
    await relay?.stop();
  });

  test("64 MiB arrive byte-exact at a slow reader while the sender's memory stays bounded", async (t) => {
    const total = 64 * MiB;
    const seed = 20261125;
    const result = await sender.call<SendResult>("tunnelSend", {
      cluster: "files",
      totalBytes: total,
      messageBytes: 256 * 1024,
      seed,
    });

    // What was sent, recomputed here from the seed.
    const expected = createHash("sha256");
    const random = seededBytes(seed);
    for (let done = 0; done < total; done += 256 * 1024) expected.update(random(256 * 1024));
    const expectedHex = expected.digest("hex");
    assert.equal(result.sha256, expectedHex, "the sender hashed what the test expects");

    // close() resolved at the sender, so the receiver has everything; its hash is recorded when its
    // iterator has worked through the queue and ended.
    await receiver.call("tunnelsEnded", { count: 1 });
    const received = (await receiver.stats()).tunnels;
    assert.equal(received.length, 1);
    assert.equal(received[0]!.error, null);
    assert.equal(received[0]!.bytes, total);
    assert.equal(received[0]!.sha256, expectedHex);

    // Credits held the sender back: it never buffered anything near the 64 MiB it sent.
    // Measured as the heap plus byte buffers after a full collection (RSS also counts memory the
    // collector has freed but not yet returned, which says more about the collector than about buffering).
    const heldGrowth = result.peakHeap - result.baselineHeap;
    t.diagnostic(`sender held at most ${(heldGrowth / MiB).toFixed(1)} MiB more than before the transfer`);
    // At most the reader's largest window (16 MiB) can be in flight, some of it still in the sender's socket.
    assert.ok(heldGrowth < 24 * MiB, `sender memory grew by ${(heldGrowth / MiB).toFixed(1)} MiB`);
    // The reader grants credit only as it consumes, so what waits for it never exceeds its window.
    const { maxBuffered, maxWindow } = received[0]!;
    assert.ok(maxBuffered <= maxWindow, `reader held ${maxBuffered} bytes with a window of ${maxWindow}`);
    assert.ok(maxWindow < 64 * MiB);
    // The slow reader set the pace: 256 reads of 15 ms cannot finish in under ~3.8 s.
    assert.ok(result.seconds > 3.5, `transfer took ${result.seconds.toFixed(2)} s`);
  });
});
