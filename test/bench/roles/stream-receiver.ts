// Role: receive a stream of bytes (as the member a tunnel is opened to, or from a raw WebSocket
// forwarder), hash it, and optionally stop reading for a while in the middle: a tunnel's reader stops
// iterating, a raw socket stops reading (ws pause()), so TCP pushes back on the forwarder.

import WebSocket from "ws";
import type { ReceiveStreamArgs, StreamReport } from "../protocol.ts";
import { serveRole } from "./role.ts";
import { StreamTally, epochNow } from "./stream-data.ts";

let tally: StreamTally | null = null;

serveRole((client) => ({
  async receive(args: ReceiveStreamArgs): Promise<boolean> {
    const into = new StreamTally();
    tally = into;
    let paused = false;
    const shouldPause = () => !paused && args.pauseAfter >= 0 && into.report.bytes >= args.pauseAfter;
    if (args.via.kind === "tunnel") {
      await client().serveTunnels(args.via.subject, async (messages) => {
        try {
          for await (const message of messages) {
            into.add(message);
            if (shouldPause()) {
              paused = true;
              const started = epochNow();
              await new Promise((resolve) => setTimeout(resolve, args.pauseMs));
              into.report.pausedMs = epochNow() - started;
            }
          }
          into.end(null);
        } catch (error) {
          into.end(`${(error as Error).name}: ${(error as Error).message}`);
        }
      });
      return true;
    }
    const ws = new WebSocket(`${args.via.url}/receive`, { perMessageDeflate: false });
    ws.on("message", (data: Buffer) => {
      into.add(data);
      if (into.report.bytes >= args.total) into.end(null);
      if (!shouldPause()) return;
      paused = true;
      const started = epochNow();
      ws.pause();
      setTimeout(() => {
        into.report.pausedMs = epochNow() - started;
        ws.resume();
      }, args.pauseMs);
    });
    ws.on("close", (code) => into.end(into.report.bytes >= args.total ? null : `closed (${code}) early`));
    ws.on("error", (error) => into.end(error.message));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    return true;
  },
  async report(): Promise<StreamReport | null> {
    return tally?.report ?? null;
  },
}));
