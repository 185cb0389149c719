// Throughput of direct links, printed, not asserted: werift <-> werift in this process, Chromium ->
// werift and werift -> Chromium (the browser test page, built and served by Vite on 127.0.0.1), with
// 1 KiB and 16 KiB frames. A raw werift data channel (one message per frame, same flow control) is the
// baseline that shows what the framing and coalescing cost or gain. Only 127.0.0.1 is used.
//
//   node --import tsx test/bench/webrtc.ts            (RUNS=3 by default; CHROMIUM_PATH overrides)
//
// Page to page in Chromium (a tunnel direct and over the relay, beside a raw RTCDataChannel) is a
// scenario of the main bench: npm run bench -- webrtc.

import path from "node:path";
import { chromium } from "@playwright/test";
import { RTCPeerConnection } from "werift";
import type { RTCDataChannel } from "werift";
import { build, preview } from "vite";
import { connectWebRtc, parseSignal } from "../../core/transports/webrtc.ts";
import type { Link } from "../../core/transports/link.ts";
import type { WebRtcAttempt, WebRtcSignal } from "../../core/transports/webrtc.ts";
import { recordLink } from "../fixtures/link-recorder.ts";
import { connectPair, LOOPBACK, loopbackOnly, loopbackWerift } from "../fixtures/webrtc-peers.ts";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../fixtures/chromium-args.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const RUNS = Number(process.env.RUNS ?? 3);
const HIGH_WATER = MiB;
const CASES = [
  { size: KiB, total: 8 * MiB },
  { size: 16 * KiB, total: 32 * MiB },
];

interface Figure {
  path: string;
  size: number;
  msgPerSec: number;
  mbPerSec: number;
}

const figures: Figure[] = [];

function record(pathName: string, size: number, count: number, ms: number): void {
  figures.push({ path: pathName, size, msgPerSec: (count * 1000) / ms, mbPerSec: (count * size) / 1e6 / (ms / 1000) });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 1));

/** Sends `count` copies of a frame with the outbox's flow control; resolves when `arrived` does. */
async function blast(link: Link, size: number, count: number, arrived: Promise<void>): Promise<number> {
  const frame = new Uint8Array(size).fill(7);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    while (link.bufferedAmount >= HIGH_WATER) await pause();
    link.send(frame);
  }
  await arrived;
  return performance.now() - started;
}

async function weriftLinks(): Promise<void> {
  const { a, b } = await connectPair();
  const atB = recordLink(b, { keep: false });
  for (const { size, total } of CASES) {
    const count = total / size;
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++)
      times.push(await blast(a, size, count, atB.untilBytes(atB.bytes + count * size)));
    record(`werift -> werift, link, ${HIGH_WATER / KiB} KiB buffered`, size, count, median(times));
  }
  a.close();
}

/** Two werift peers joined directly, no connector, no framing: the baseline. */
async function rawWeriftChannels(): Promise<{ sender: RTCDataChannel; receiver: RTCDataChannel; close(): void }> {
  const config = { iceAdditionalHostAddresses: [LOOPBACK], iceUseIpv6: false };
  const [a, b] = [new RTCPeerConnection(config), new RTCPeerConnection(config)];
  const loopback = (candidate: { candidate?: string } | undefined) =>
    candidate?.candidate?.includes(` ${LOOPBACK} `) ?? false;
  a.onIceCandidate.subscribe((candidate) => void (loopback(candidate) && b.addIceCandidate(candidate)));
  b.onIceCandidate.subscribe((candidate) => void (loopback(candidate) && a.addIceCandidate(candidate)));
  const sender = a.createDataChannel("raw");
  const receiving = new Promise<RTCDataChannel>((resolve) => b.onDataChannel.subscribe(resolve));
  const onlyLoopback = (sdp: string) =>
    sdp
      .split("\r\n")
      .filter((line) => !line.startsWith("a=candidate:") || line.includes(` ${LOOPBACK} `))
      .join("\r\n");
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription({ type: "offer", sdp: onlyLoopback(a.localDescription!.sdp) });
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription({ type: "answer", sdp: onlyLoopback(b.localDescription!.sdp) });
  await new Promise<void>((resolve) => sender.stateChanged.subscribe((state) => state === "open" && resolve()));
  const receiver = await receiving;
  return { sender, receiver, close: () => void Promise.all([a.close(), b.close()]) };
}

/**
 * werift slows down badly when many messages wait in a channel (1 KiB messages under a 1 MiB
 * bufferedAmount crawl), so the raw baseline runs at its best high-water mark, 64 KiB, and once at
 * 1 MiB with a smaller total to show the effect. The link always holds few, full 16 KiB messages.
 */
const RAW_CASES = [
  { size: KiB, total: 8 * MiB, highWater: 64 * KiB },
  { size: KiB, total: MiB, highWater: MiB },
  { size: 16 * KiB, total: 32 * MiB, highWater: 64 * KiB },
  { size: 16 * KiB, total: 32 * MiB, highWater: MiB },
];

async function weriftRaw(): Promise<void> {
  const { sender, receiver, close } = await rawWeriftChannels();
  let bytes = 0;
  let waiter: { target: number; done(): void } | null = null;
  receiver.onMessage.subscribe((data) => {
    bytes += data.length;
    if (waiter && bytes >= waiter.target) waiter.done();
  });
  const arrived = (target: number) => new Promise<void>((resolve) => (waiter = { target, done: resolve }));
  for (const { size, total, highWater } of RAW_CASES) {
    const count = total / size;
    const frame = Buffer.alloc(size, 7);
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const done = arrived(bytes + count * size);
      const started = performance.now();
      for (let i = 0; i < count; i++) {
        while (sender.bufferedAmount >= highWater) await pause();
        sender.send(frame);
      }
      await done;
      times.push(performance.now() - started);
    }
    record(`werift -> werift, raw channel, ${highWater / KiB} KiB buffered`, size, count, median(times));
  }
  close();
}

async function chromiumAndWerift(): Promise<void> {
  const configFile = path.resolve(import.meta.dirname, "../fixtures/browser-page/vite.config.ts");
  await build({ configFile, logLevel: "warn" });
  const server = await preview({ configFile, logLevel: "warn", preview: { port: 0, strictPort: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error("vite preview has no local URL");
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
  });
  try {
    // Media permission makes Chromium offer its 127.0.0.1 candidate (see test/e2e/webrtc.spec.ts).
    const context = await browser.newContext({ permissions: ["camera", "microphone"] });
    const page = await context.newPage();
    let attempt: WebRtcAttempt | null = null;
    await page.exposeFunction("__toNode", (_id: string, signal: unknown) => attempt?.receive(parseSignal(signal)));
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
    await page.evaluate(() => window.harness.start("bench", "responder", 15_000, false));
    attempt = connectWebRtc({
      role: "initiator",
      peerConnection: loopbackWerift(),
      candidateFilter: loopbackOnly,
      signaling: {
        send: (signal: WebRtcSignal) =>
          void page.evaluate(([s]) => window.harness.receive("bench", s), [signal] as const).catch(() => {}),
      },
    });
    const link = await attempt.link;
    const atNode = recordLink(link, { keep: false });
    let pageBytes = 0;
    for (const { size, total } of CASES) {
      const count = total / size;
      const up: number[] = [];
      const down: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const started = performance.now();
        const arrived = atNode.untilBytes(atNode.bytes + count * size);
        await page.evaluate(([n, s, hw]) => window.harness.sendRepeated("bench", n, s, hw), [
          count,
          size,
          HIGH_WATER,
        ] as const);
        await arrived;
        up.push(performance.now() - started);
        pageBytes += count * size;
        const target = pageBytes;
        down.push(
          await blast(
            link,
            size,
            count,
            page.evaluate((t) => window.harness.receivedBytes("bench", t), target),
          ),
        );
      }
      record(`Chromium -> werift, link, ${HIGH_WATER / KiB} KiB buffered`, size, count, median(up));
      record(`werift -> Chromium, link, ${HIGH_WATER / KiB} KiB buffered`, size, count, median(down));
    }
    link.close();
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}

async function main(): Promise<void> {
  console.log(`direct link throughput, median of ${RUNS} runs, flow control at ${HIGH_WATER / MiB} MiB buffered`);
  await weriftLinks();
  await weriftRaw();
  await chromiumAndWerift();
  const rows = figures.map((f) => [
    f.path,
    `${f.size / KiB} KiB`,
    Math.round(f.msgPerSec).toLocaleString("en-US"),
    f.mbPerSec.toFixed(1),
  ]);
  const header = ["path", "frame", "frames/s", "MB/s"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ");
  console.log([line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.map(line)].join("\n"));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
