// Members come and go while requests flow: one member stays for the whole run; six others each join,
// serve for 2 s and leave, over and over for 60 s (about three departures a second), half of them by
// close() and half by unregister(), with handlers that take 150 ms, so that requests are in flight at
// every departure and one request often meets several. Callers keep 32 requests in flight throughout,
// through two relays. (Before members left in good order and requests were placed again as often as
// needed, this lost about 30 requests a run.) Not one request may fail: a leaving member is taken out of its relay's
// trees before it goes, hands back what it has not started and finishes what it has, and a request that
// loses its member is placed again, however many members leave.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startBackbone } from "../fixtures/network.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";

const keys = { work: generateKey() };
const DURATION_MS = 60_000;
const CHURNERS = 6;
/** Each churner serves this long per stay: with six of them, about three leave every second. */
const STAY_MS = 2000;
const IN_FLIGHT = 32;
const decoder = new TextDecoder();

interface ChurnReport {
  cycles: number;
  closes: number;
  unregisters: number;
  served: number;
  errors: string[];
}

describe("members joining and leaving while requests flow", { timeout: 180_000 }, () => {
  let relays: RelayProcess[] = [];
  let stayer: PeerProcess;
  const churners: PeerProcess[] = [];
  let caller: Connection;

  before(async () => {
    relays = await startBackbone(2, ["--startup-grace", "0"]);
    stayer = await startPeer();
    await stayer.connect([relays[0]!.url], keys);
    await stayer.register("work", { kind: "slow", ms: 20 });
    for (let i = 0; i < CHURNERS; i++) churners.push(await startPeer());
    caller = await connect({ relays: [relays[1]!.url], keys });
    // The stayer is reachable from the caller's relay before the run starts.
    assert.equal(decoder.decode(await caller.request("work", "ready", { timeout: 10_000 })), "ready");
  });

  after(async () => {
    await caller?.close();
    await Promise.all([stayer, ...churners].map((peer) => peer?.stop()));
    await Promise.all(relays.map((relay) => relay.stop()));
  });

  test("0 failed requests in 60 s of churn", async (t) => {
    // Churners start a quarter of a stay apart, alternating between the two relays.
    const churning = churners.map(async (churner, i) => {
      await new Promise((resolve) => setTimeout(resolve, (i * STAY_MS) / CHURNERS));
      return churner.call<ChurnReport>("churn", {
        relays: [relays[i % 2]!.url],
        keys,
        cluster: "work",
        stayMs: STAY_MS,
        handlerMs: 150,
        durationMs: DURATION_MS - (i * STAY_MS) / CHURNERS,
      });
    });
    let running = true;
    let succeeded = 0;
    const failures: string[] = [];
    const servedBy = new Map<string, number>();
    const loops = Array.from({ length: IN_FLIGHT }, async (_, loop) => {
      for (let i = 0; running; i++) {
        const body = `${loop}-${i}`;
        try {
          const reply = decoder.decode(await caller.request("work", body, { timeout: 15_000 }));
          // The stayer echoes; churners answer "<peer id>:<body>".
          assert.ok(reply === body || reply.endsWith(`:${body}`), `reply ${reply} to ${body}`);
          const by = reply === body ? "stayer" : reply.split(":")[0]!;
          servedBy.set(by, (servedBy.get(by) ?? 0) + 1);
          succeeded++;
        } catch (error) {
          failures.push(`${(error as Error).name}: ${(error as Error).message}`);
        }
      }
    });
    const reports = await Promise.all(churning);
    running = false;
    await Promise.all(loops);
    const leaves = reports.reduce((n, r) => n + r.closes + r.unregisters, 0);
    const byChurners = [...servedBy].filter(([by]) => by !== "stayer").reduce((n, [, count]) => n + count, 0);
    t.diagnostic(
      `${succeeded} requests succeeded, ${failures.length} failed; ${leaves} departures ` +
        `(${reports.reduce((n, r) => n + r.closes, 0)} by close, ${reports.reduce((n, r) => n + r.unregisters, 0)} by unregister); ` +
        `${byChurners} requests served by churning members, ${servedBy.get("stayer") ?? 0} by the one that stays`,
    );
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} requests failed`);
    assert.ok(leaves >= 50, `only ${leaves} departures in 60 s`);
    assert.ok(byChurners > 1000, "churning members did take work");
    for (const report of reports) assert.deepEqual(report.errors, []);
  });
});
