// Role: send a stream of bytes as fast as its flow control allows, through an iris-mesh tunnel or a raw
// WebSocket to a forwarder, hashing what it sends. Both wait on the same kind of signal: the tunnel's
// send() resolves when its credit allows more, the raw socket's writes when it holds under 1 MiB.

import { createHash } from "node:crypto";
import WebSocket from "ws";
import type { SendStreamArgs, SendStreamResult } from "../protocol.ts";
import type { StreamWriter } from "./client.ts";
import { serveRole } from "./role.ts";
import { StreamSource, epochNow } from "./stream-data.ts";

/** As much as a raw socket may hold unwritten before the sender waits: the relay link's high-water mark. */
const HIGH_WATER = 1024 * 1024;

let source: StreamSource | null = null;

serveRole((client) => ({
  async send(args: SendStreamArgs): Promise<SendStreamResult> {
    source ??= new StreamSource();
    const hash = createHash("sha256");
    const result: SendStreamResult = { bytes: 0, sha256: "", startedAt: 0, endedAt: 0, error: null };
    try {
      const writer =
        args.via.kind === "tunnel" ? await client().openTunnel(args.via.subject) : await openWs(args.via.url);
      result.startedAt = epochNow();
      for (let index = 0; result.bytes < args.total; index++) {
        const message = source.message(index, Math.min(args.messageSize, args.total - result.bytes));
        hash.update(message);
        await writer.send(message);
        result.bytes += message.length;
      }
      await writer.close();
    } catch (error) {
      result.error = `${(error as Error).name}: ${(error as Error).message}`;
    }
    result.endedAt = epochNow();
    result.sha256 = hash.digest("hex");
    return result;
  },
}));

async function openWs(url: string): Promise<StreamWriter> {
  const ws = new WebSocket(`${url}/send`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let unwritten = 0;
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  ws.on("error", (error) => (failure = error));
  return {
    async send(bytes) {
      if (failure) throw failure;
      unwritten += bytes.length;
      ws.send(bytes, { binary: true }, (error) => {
        if (error) failure = error;
        unwritten -= bytes.length;
        if (unwritten < HIGH_WATER) wake?.();
      });
      while (unwritten >= HIGH_WATER && !failure) await new Promise<void>((resolve) => (wake = resolve));
    },
    close() {
      return new Promise<void>((resolve) => {
        ws.once("close", () => resolve());
        ws.close(1000);
      });
    },
  };
}
