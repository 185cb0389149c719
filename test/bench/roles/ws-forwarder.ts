// Role: the baseline of a relay, as bare as it gets: a `ws` server that passes every message from the
// sender (/send) to the receiver (/receive) unchanged, and stops reading from the sender while the
// receiver's socket holds more than 1 MiB, as a relay's link does, so a stalled receiver pushes back.

import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import type { ForwarderReport } from "../protocol.ts";
import { serveRole } from "./role.ts";

const HIGH_WATER = 1024 * 1024;

let report: ForwarderReport = { messages: 0, bytes: 0, pauses: 0 };
/** The previous round's server, closed when the next round asks for one. */
let previous: WebSocketServer | null = null;

serveRole(() => ({
  async listen(): Promise<{ url: string }> {
    previous?.close();
    for (const client of previous?.clients ?? []) client.terminate();
    report = { messages: 0, bytes: 0, pauses: 0 };
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
    previous = server;
    await new Promise<void>((resolve) => server.once("listening", resolve));
    let receiver: WebSocket | null = null;
    let sender: WebSocket | null = null;
    let unwritten = 0;
    let senderPaused = false;
    let senderClosed = false;
    const closeWhenDrained = () => {
      if (senderClosed && unwritten === 0) receiver?.close(1000);
    };
    server.on("connection", (ws, request) => {
      if (request.url === "/receive") {
        receiver = ws;
        if (sender && senderPaused) {
          senderPaused = false;
          sender.resume();
        }
        return;
      }
      sender = ws;
      // Nothing is read until there is someone to pass it to.
      if (!receiver) {
        senderPaused = true;
        ws.pause();
      }
      ws.on("message", (data: Buffer) => {
        const to = receiver!;
        report.messages++;
        report.bytes += data.length;
        unwritten += data.length;
        to.send(data, { binary: true }, () => {
          unwritten -= data.length;
          if (senderPaused && unwritten < HIGH_WATER / 2) {
            senderPaused = false;
            ws.resume();
          }
          closeWhenDrained();
        });
        if (!senderPaused && unwritten >= HIGH_WATER) {
          senderPaused = true;
          report.pauses++;
          ws.pause();
        }
      });
      ws.on("close", () => {
        senderClosed = true;
        closeWhenDrained();
      });
    });
    const address = server.address();
    if (typeof address !== "object" || address === null) throw new Error("the forwarder has no address");
    return { url: `ws://127.0.0.1:${address.port}` };
  },
  async report(): Promise<ForwarderReport> {
    return report;
  },
}));
