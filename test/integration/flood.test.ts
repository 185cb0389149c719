// Floods from one address, before and after the WebSocket upgrade, at once: 3,000 connections that never
// upgrade from 127.0.0.2, and 3,000 that upgrade and say nothing from 127.0.0.3 (from one address, the
// first flood would keep the second from ever reaching its upgrade), each opened at 500 a second. Throughout, a peer from
// another address (127.0.0.1) attaches within a second, the relay's descriptors and memory stay bounded,
// and every attacking connection is closed within the handshake timeout.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DeniedError, connect, generateKey } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const ATTACKER = fileURLToPath(new URL("../fixtures/flood-attacker.ts", import.meta.url));
const HANDSHAKE_TIMEOUT_MS = 5000;
/** Past the handshake timeout, the time a busy machine may take to close what timed out. */
const CLOSE_MARGIN_MS = 1500;
const MiB = 1024 * 1024;

/**
 * Connections of each kind. The attacker holds one descriptor per connection until the relay closes
 * it, so it needs twice this many: with a hard limit below that, the counts shrink to fit (the ratio
 * is printed), since what is tested is that the relay holds only a bounded number whatever comes.
 */
function floodSize(): { perKind: number; fdLimit: number } {
  const hard = execFileSync("bash", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim();
  const fdLimit = hard === "unlimited" ? 1 << 20 : Number(hard);
  return { perKind: Math.min(3000, Math.floor((fdLimit - 500) / 2)), fdLimit };
}

interface AttackReport {
  kind: string;
  count: number;
  ended: number;
  stillOpen: number;
  upgraded: number;
  maxLifetimeMs: number;
  endedWithin100Ms: number;
}

function attack(
  port: number,
  kind: "raw" | "silent",
  from: string,
  count: number,
  fdLimit: number,
): Promise<AttackReport> {
  const limitMs = HANDSHAKE_TIMEOUT_MS * 4;
  const command = `ulimit -n ${Math.min(fdLimit, 2 * count + 500)} && exec "${process.execPath}" --import tsx "${ATTACKER}" 127.0.0.1 ${port} ${kind} ${count} ${from} ${limitMs}`;
  const child = spawn("bash", ["-c", command], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => void (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once("close", (code) => {
      try {
        resolve(JSON.parse(out) as AttackReport);
      } catch {
        reject(new Error(`attacker exited ${code} without a report: ${out}`));
      }
    }),
  );
}

function descriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

describe("floods from one address, before and after the upgrade", { timeout: 120_000 }, () => {
  let relay: RelayProcess;
  const keys = { echo: generateKey() };

  before(async () => {
    relay = await startRelay(["--handshake-timeout", String(HANDSHAKE_TIMEOUT_MS)]);
  });

  after(async () => {
    await relay?.stop();
  });

  test("a peer from another address attaches within 1 s throughout; the relay stays bounded; every attacking connection is closed in time", async (t) => {
    const { perKind, fdLimit } = floodSize();
    if (perKind < 3000)
      t.diagnostic(`hard descriptor limit ${fdLimit}: ${perKind} connections of each kind instead of 3,000`);
    const pid = relay.child.pid!;
    const baselineFds = descriptors(pid);
    const baselineRss = await relay.rss();
    let peakFds = baselineFds;
    let peakRss = baselineRss;
    const sampler = setInterval(() => {
      peakFds = Math.max(peakFds, descriptors(pid));
      void relay.rss().then((rss) => (peakRss = Math.max(peakRss, rss)));
    }, 100);
    t.after(() => clearInterval(sampler));

    const attacks = Promise.all([
      attack(relay.port, "raw", "127.0.0.2", perKind, fdLimit),
      attack(relay.port, "silent", "127.0.0.3", perKind, fdLimit),
    ]);
    let attacking = true;
    void attacks.finally(() => (attacking = false));
    // A legitimate peer from 127.0.0.1 attaches again and again while the attack lasts.
    const attachMs: number[] = [];
    do {
      const started = performance.now();
      const peer = await connect({ relays: [relay.url], keys, connectTimeout: 10_000 });
      attachMs.push(performance.now() - started);
      await peer.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
    } while (attacking);
    const [raw, silent] = await attacks;
    clearInterval(sampler);

    t.diagnostic(
      `raw: ${JSON.stringify(raw)}; silent: ${JSON.stringify(silent)}; relay descriptors ${baselineFds} -> peak ${peakFds}; ` +
        `RSS ${(baselineRss / MiB).toFixed(1)} -> peak ${(peakRss / MiB).toFixed(1)} MiB; ${attachMs.length} attaches, slowest ${Math.round(Math.max(...attachMs))} ms`,
    );
    assert.ok(attachMs.length >= 10, `only ${attachMs.length} attaches during the attack`);
    assert.ok(Math.max(...attachMs) < 1000, `attach times: ${attachMs.map(Math.round).join(", ")} ms`);
    for (const report of [raw, silent]) {
      assert.equal(report.stillOpen, 0, `${report.kind}: ${report.stillOpen} connections still open`);
      assert.ok(
        report.maxLifetimeMs <= HANDSHAKE_TIMEOUT_MS + CLOSE_MARGIN_MS,
        `${report.kind}: a connection lived ${Math.round(report.maxLifetimeMs)} ms`,
      );
    }
    assert.ok(silent.upgraded > 0, "some silent connections were upgraded (the post-upgrade limits were met too)");
    // Bounded: per address, 32 connections before the upgrade and 32 handshakes after it, not thousands.
    assert.ok(peakFds - baselineFds <= 250, `the relay held up to ${peakFds - baselineFds} more descriptors`);
    assert.ok(peakRss - baselineRss <= 64 * MiB, `the relay grew by ${((peakRss - baselineRss) / MiB).toFixed(1)} MiB`);
  });
});

describe("the links-per-address limit", { timeout: 60_000 }, () => {
  let relay: RelayProcess;
  const keys = { echo: generateKey() };

  before(async () => {
    relay = await startRelay(["--max-links-per-address", "50"]);
  });

  after(async () => {
    await relay?.stop();
  });

  test("the 51st connect() from one address fails at once with DeniedError and the relay's reason", async () => {
    const peers = [];
    for (let i = 0; i < 50; i++) peers.push(await connect({ relays: [relay.url], keys }));
    const started = performance.now();
    const refused = await connect({ relays: [relay.url], keys, connectTimeout: 8000 }).then(
      () => null,
      (error: Error) => error,
    );
    const tookMs = performance.now() - started;
    await Promise.all(peers.map((peer) => peer.close()));
    assert.ok(refused instanceof DeniedError, `${refused?.name}: ${refused?.message}`);
    assert.match(refused.message, /too many links from this address/);
    assert.ok(tookMs < 2000, `refused after ${Math.round(tookMs)} ms`);
  });
});
