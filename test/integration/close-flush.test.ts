// close() delivers what was handed over. A process publishes (or broadcasts, or sends down a tunnel) N
// messages, awaiting each, then awaits conn.close() and exits at once, round after round: every round,
// all N reach the other end, in order. The sender reaches the relay through a slow network (a proxy that
// carries 8 MB/s toward the relay) and sends more than the socket buffers hold (200 messages of 40 KiB),
// so it still holds about a megabyte when it closes: a resolved send means handed to the link, not yet
// sent, and close() must see it out of the process.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection, Tunnel } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startSlowProxy } from "../fixtures/slow-proxy.ts";
import type { SlowProxy } from "../fixtures/slow-proxy.ts";

const SCRIPT = fileURLToPath(new URL("../fixtures/send-and-exit.ts", import.meta.url));
const keys = { news: generateKey(), work: generateKey() };
const COUNT = 200;
const SIZE = 40 * 1024;
const PROXY_RATE = 8_000_000;
const decoder = new TextDecoder();
/** "m17" out of message 17. */
const label = (body: Uint8Array) => decoder.decode(body.subarray(0, body.indexOf(0x7c)));

/** Runs one sending process to its end; resolves with its exit code and what it printed on stderr. */
function runSender(relay: string, kind: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", SCRIPT, relay, JSON.stringify(keys), kind, String(COUNT), String(SIZE)],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stderr })));
}

describe("a process that sends, awaits close() and exits", { timeout: 240_000 }, () => {
  let relay: RelayProcess;
  let proxy: SlowProxy;
  let receiver: Connection;
  let heard: string[] = [];
  /** Messages read from each tunnel, by tunnel, once it ended. */
  const tunnels: Array<Promise<string[]>> = [];

  before(async () => {
    relay = await startRelay();
    proxy = await startSlowProxy(relay.port, PROXY_RATE);
    receiver = await connect({ relays: [relay.url], keys });
    await receiver.subscribe("news", (body) => void heard.push(label(body)));
    await receiver.register("work", {
      broadcast: (body) => void heard.push(label(body)),
      tunnel: (tunnel: Tunnel) => {
        tunnels.push(
          (async () => {
            const got: string[] = [];
            try {
              for await (const message of tunnel) got.push(label(message));
            } catch {
              // The sender's connection closed under the tunnel: what matters is what arrived first.
            }
            return got;
          })(),
        );
      },
    });
  });

  after(async () => {
    await receiver?.close();
    await proxy?.stop();
    await relay?.stop();
  });

  const expected = Array.from({ length: COUNT }, (_, i) => `m${i}`);

  for (const [kind, rounds] of [
    ["publish", 10],
    ["broadcast", 2],
  ] as const) {
    test(`${kind}: ${COUNT} of ${COUNT} delivered, ${rounds} rounds out of ${rounds}`, async () => {
      for (let round = 1; round <= rounds; round++) {
        heard = [];
        const sender = await runSender(proxy.url, kind);
        assert.equal(sender.code, 0, sender.stderr);
        // The sender is gone; what it left in its socket buffers trickles on through the proxy, and the
        // relay closes its end once it has read it all, the close last. A request to the relay's own
        // report then crosses the receiver's link after everything the relay forwarded.
        await proxy.idle();
        await receiver.inspect();
        assert.deepEqual(heard, expected, `round ${round}: ${heard.length} of ${COUNT} arrived`);
      }
    });
  }

  test(`tunnel.send: ${COUNT} of ${COUNT} reach the member before the tunnel ends, 2 rounds out of 2`, async () => {
    for (let round = 1; round <= 2; round++) {
      const before = tunnels.length;
      const sender = await runSender(proxy.url, "tunnel");
      assert.equal(sender.code, 0, sender.stderr);
      await proxy.idle();
      while (tunnels.length === before) await receiver.inspect();
      assert.deepEqual(await tunnels[before]!, expected, `round ${round}`);
    }
  });

  test("the relay saw every sender leave in good order, never a lost connection", () => {
    const lost = relay.lines.filter((line) => / peer-left .*code=1006/.test(line));
    assert.deepEqual(lost, []);
  });
});
