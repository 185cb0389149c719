// Direct links in the browser: two Chromium pages (one browser, one relay process), each a peer of the
// page's own iris-mesh. A tunnel from one page to the other over their direct data channel, the same
// tunnel over the relay (direct links off), and a raw RTCDataChannel between the same two pages, the
// baseline. The werift paths (Node to Node, Chromium to Node) are in test/bench/webrtc.ts.

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Page } from "@playwright/test";
import { chromiumMissing, openBenchBrowser } from "../lib/chromium.ts";
import type { BenchBrowser } from "../lib/chromium.ts";
import { meterCpu, perUnit } from "../lib/cpu.ts";
import type { CpuPerUnit } from "../lib/cpu.ts";
import { fmt, table } from "../lib/report.ts";
import { failuresOf, goals, ratioRow, takeTurns } from "../lib/scenario.ts";
import type { Rounds, Scenario, ScenarioOutcome } from "../lib/scenario.ts";
import { startServer } from "../lib/servers.ts";
import type { Server } from "../lib/servers.ts";
import { median, medianCpu } from "../lib/stats.ts";
import { cpuBreakdown } from "../lib/summary.ts";

const CLUSTER = "bench-pages";
const MIB = 1024 * 1024;
const TOTAL = 16 * MIB;
const MESSAGE = 64 * 1024;
/** A page call that takes longer than this has hung. */
const CALL_TIMEOUT_MS = 120_000;

type Path = "direct" | "relay" | "raw";

const NAMES: Record<Path, string> = {
  direct: "tunnel, direct data channel",
  relay: "tunnel over the relay",
  raw: "raw RTCDataChannel",
};

interface Transfer {
  megabytesPerSecond: number;
  intact: boolean;
  error: string | null;
  /** CPU µs per 64 KiB message: Chromium (every process of it) and the relay. */
  cpu: CpuPerUnit;
  /** The sending page's ICE pair and the packets Chromium discarded on send (each one a retransmission). */
  link: string;
}

interface Setup {
  browser: BenchBrowser;
  relay: Server;
  /** The member (receiving) page and the caller (sending) page. */
  member: Page;
  caller: Page;
}

export const webrtc: Scenario = {
  name: "webrtc",
  title: "direct links: a tunnel between two Chromium pages direct and over the relay, beside a raw RTCDataChannel",
  unavailable: () => chromiumMissing(),
  describe: () => [
    [
      "direct links",
      `two pages in one Chromium, each an iris-mesh peer (browser entry) of one relay process; ${TOTAL / MIB} MiB of random ` +
        `bytes in ${MESSAGE / 1024} KiB messages from one page to the other: through a tunnel once it is on the pages' direct ` +
        "data channel; through a tunnel over the relay (direct links off); and through a raw RTCDataChannel between the two " +
        "pages (no framing, no sealing; the link's flow control: waits while 128 KiB or more is buffered); SHA-256 checked; MB/s from the first send to " +
        "the last arrival; CPU of Chromium (all its processes) and the relay",
    ],
  ],
  async run(context): Promise<ScenarioOutcome> {
    const keys = context.keysFor(CLUSTER);
    const setup = await start(keys);
    let all: Map<Path, Rounds<Transfer>>;
    try {
      all = await takeTurns(
        context,
        (path) => NAMES[path],
        ["direct", "relay", "raw"] as const,
        async (path, round) => {
          const result = await transfer(setup, path, `${path}-${round}`, keys);
          return {
            result,
            line:
              `${fmt.fixed(result.megabytesPerSecond)} MB/s, ${result.intact ? "intact" : "NOT intact"}, ` +
              `${fmt.fixed(result.cpu.total)} µs CPU per 64 KiB${result.link ? `; ${result.link}` : ""}` +
              `${result.error ? `; ${result.error}` : ""}`,
          };
        },
      );
    } finally {
      await setup.browser.close();
      await setup.relay.stop();
    }
    const rate = (path: Path) => median(all.get(path)?.done.map((run) => run.megabytesPerSecond) ?? []);
    const cpu = (path: Path) => {
      const runs = all.get(path)?.done ?? [];
      return runs.length ? medianCpu(runs.map((run) => run.cpu)) : null;
    };
    const total = (path: Path) => cpu(path)?.total ?? NaN;
    const rows = [
      ratioRow(
        "Chromium pages, tunnel direct: MB/s",
        rate("direct"),
        "tunnel over relay",
        rate("relay"),
        fmt.fixed,
        (r) => goals.above(1, r),
        { ours: total("direct"), baseline: total("relay") },
      ),
      ratioRow(
        "Chromium pages, tunnel direct: MB/s",
        rate("direct"),
        "raw RTCDataChannel",
        rate("raw"),
        fmt.fixed,
        (r) => goals.atLeast(0.9, r),
        { ours: total("direct"), baseline: total("raw") },
      ),
      // No goal: what the channel itself gives, against the relay path. Where a bare channel is no faster
      // than the relay (one machine, Chromium's data channel CPU-bound), a tunnel on it cannot be either.
      ratioRow(
        "Chromium pages, raw RTCDataChannel: MB/s",
        rate("raw"),
        "tunnel over relay",
        rate("relay"),
        fmt.fixed,
        null,
        { ours: total("raw"), baseline: total("relay") },
      ),
    ];
    const failures = failuresOf("webrtc", all, (path) => NAMES[path]);
    const notes = [...failures.notes];
    for (const [path, runs] of all)
      for (const [index, run] of runs.done.entries())
        if (!run.intact)
          notes.push(`webrtc ${NAMES[path]}, round ${index + 1}: NOT intact: ${run.error ?? "SHA-256 differs"}`);
    return {
      details: [
        `${TOTAL / MIB} MiB between two Chromium pages in ${MESSAGE / 1024} KiB messages (median of rounds)`,
        table(
          ["path", "MB/s", "intact rounds", "CPU µs per 64 KiB message, per process = all"],
          (["direct", "relay", "raw"] as const).map((path) => {
            const runs = all.get(path)!;
            const found = cpu(path);
            return [
              NAMES[path],
              fmt.fixed(rate(path)),
              `${runs.done.filter((run) => run.intact).length}/${runs.done.length}`,
              found ? cpuBreakdown(found) : "failed",
            ];
          }),
        ),
      ],
      rows,
      notes,
      failures: failures.count,
    };
  },
};

async function start(keys: Record<string, string>): Promise<Setup> {
  const relay = await startServer("iris", keys, null);
  let browser: BenchBrowser | null = null;
  try {
    browser = await openBenchBrowser();
    const [member, caller] = await Promise.all([browser.page(), browser.page()]);
    return { browser, relay, member, caller };
  } catch (error) {
    await browser?.close();
    await relay.stop();
    throw error;
  }
}

/**
 * With IRIS_BENCH_CPU_PROF set, each page's JavaScript is profiled over the measured transfer (through the
 * DevTools protocol) and written there as webrtc-<path>-<round>-<page>.cpuprofile.
 */
async function profilePages(pages: Record<string, Page>, name: string): Promise<() => Promise<void>> {
  const dir = process.env.IRIS_BENCH_CPU_PROF;
  if (!dir) return async () => {};
  const sessions = await Promise.all(
    Object.entries(pages).map(async ([role, page]) => {
      const session = await page.context().newCDPSession(page);
      await session.send("Profiler.enable");
      await session.send("Profiler.start");
      return { role, session };
    }),
  );
  return async () => {
    await mkdir(dir, { recursive: true });
    for (const { role, session } of sessions) {
      const { profile } = await session.send("Profiler.stop");
      await writeFile(path.join(dir, `webrtc-${name}-${role}.cpuprofile`), JSON.stringify(profile));
      await session.detach();
    }
  };
}

/** A page call with a deadline, so a hung transfer fails its round instead of the run. */
function call<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
  });
  return Promise.race([promise, overdue]).finally(() => clearTimeout(timer));
}

/** A promise's outcome as a value, so a failure on one side is reported beside the other side's, not thrown. */
async function settle<T>(promise: Promise<T>): Promise<{ value: T | null; error: string | null }> {
  try {
    return { value: await promise, error: null };
  } catch (error) {
    return { value: null, error: (error as Error).message.split("\n")[0]! };
  }
}

async function transfer(setup: Setup, path: Path, name: string, keys: Record<string, string>): Promise<Transfer> {
  const { member, caller, relay } = setup;
  const relayUrl = relay.receiver.system === "iris" ? relay.receiver.relay : "";
  const processes = [...setup.browser.processes(), ...relay.processes()];
  let startedAt: number;
  let arrived: { bytes: number; firstAt: number; lastAt: number; error: string | null };
  let usage: ReturnType<ReturnType<typeof meterCpu>["stop"]>;
  try {
    if (path === "raw") {
      const offer = await call(
        "offer",
        caller.evaluate(() => window.bench.rawOffer()),
      );
      const answer = await call(
        "answer",
        member.evaluate((sdp) => window.bench.rawAnswer(sdp), offer),
      );
      await call(
        "accept",
        caller.evaluate((sdp) => window.bench.rawAccept(sdp), answer),
      );
      const profiled = await profilePages({ caller, member }, name);
      const meter = meterCpu(processes);
      const sending = settle(
        call(
          "send",
          caller.evaluate(([t, s]) => window.bench.rawSend(t, s), [TOTAL, MESSAGE] as const),
        ),
      );
      arrived = await call(
        "receive",
        member.evaluate((t) => window.bench.arrived(t), TOTAL),
      );
      const sent = await sending;
      usage = meter.stop();
      await profiled();
      startedAt = sent.value?.startedAt ?? NaN;
      if (sent.error) arrived = { ...arrived, error: `the sender: ${sent.error}` };
    } else {
      const direct = path === "direct";
      await call(
        "member connect",
        member.evaluate(([n, r, k, d]) => window.bench.connect(n, r, k, d), [name, relayUrl, keys, direct] as const),
      );
      await call(
        "serve",
        member.evaluate(([n, c]) => window.bench.serve(n, c), [name, CLUSTER] as const),
      );
      await call(
        "caller connect",
        caller.evaluate(([n, r, k, d]) => window.bench.connect(n, r, k, d), [name, relayUrl, keys, direct] as const),
      );
      await call(
        "open",
        caller.evaluate(([n, c, p]) => window.bench.open(n, c, p), [name, CLUSTER, path] as const),
      );
      const profiled = await profilePages({ caller, member }, name);
      const meter = meterCpu(processes);
      const sending = settle(
        call(
          "send",
          caller.evaluate(([t, s]) => window.bench.sendOn(t, s), [TOTAL, MESSAGE] as const),
        ),
      );
      arrived = await call(
        "receive",
        member.evaluate((t) => window.bench.arrived(t), TOTAL),
      );
      const sent = await sending;
      usage = meter.stop();
      await profiled();
      startedAt = sent.value?.startedAt ?? NaN;
      if (sent.error) arrived = { ...arrived, error: `the sender: ${sent.error}` };
      else if (sent.value && sent.value.routes.at(-1) !== path)
        arrived = { ...arrived, error: `the tunnel left the ${path} route: ${sent.value.routes.join(" -> ")}` };
    }
    const [received, sent, pairs] = await Promise.all([
      member.evaluate(() => window.bench.receivedSha256()),
      caller.evaluate(() => window.bench.sentSha256()),
      caller.evaluate(() => window.bench.peerStats()),
    ]);
    const seconds = (arrived.lastAt - startedAt) / 1000;
    return {
      megabytesPerSecond: seconds > 0 ? arrived.bytes / 1e6 / seconds : NaN,
      intact: arrived.bytes === TOTAL && !arrived.error && received === sent,
      error: arrived.error,
      cpu: perUnit(usage, TOTAL / MESSAGE),
      link: pairs
        .map(
          (found) => `${found.pair}, ${found.packetsDiscardedOnSend} of ${found.packetsSent} packets discarded on send`,
        )
        .join("; "),
    };
  } finally {
    await Promise.all([
      member.evaluate((n) => window.bench.finish(n), name).catch(() => {}),
      caller.evaluate((n) => window.bench.finish(n), name).catch(() => {}),
    ]);
  }
}
