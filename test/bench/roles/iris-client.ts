// iris-mesh behind the benchmark interface, used exactly as an application would: the public Node entry,
// a WebSocket to one relay, sealed payloads.

import { connect } from "../../../core/node.ts";
import type { BenchClient } from "./client.ts";

export async function openIrisClient(relay: string, keys: Record<string, string>): Promise<BenchClient> {
  const conn = await connect({ relays: [relay], keys });
  // A message that fails to open or a handler that throws is reported here, not thrown: surface it, since
  // it would otherwise show up only as a silent loss in the figures.
  conn.on("error", ({ error, context }) => process.stderr.write(`iris-mesh ${context}: ${error.message}\n`));
  return {
    async subscribe(subject, onMessage) {
      await conn.subscribe(subject, (body) => onMessage(body));
    },
    // publish() resolves when the frame is handed to the socket, and waits while the socket holds more
    // than its high-water mark: awaiting every call is the intended backpressure.
    publish: (subject, body) => conn.publish(subject, body),
    // The outbox hands frames to the socket in order, so an awaited publish means everything before it
    // was handed over too; there is nothing further to wait for on this side.
    flush: async () => {},
    async serve(subject, answer) {
      await conn.register(subject, { request: answer });
    },
    request: (subject, body, timeoutMs) => conn.request(subject, body, { timeout: timeoutMs }),
    async openTunnel(subject) {
      const tunnel = await conn.tunnel(subject, { timeout: 10_000 });
      return { send: (bytes) => tunnel.send(bytes), close: () => tunnel.close() };
    },
    async serveTunnels(subject, onTunnel) {
      await conn.register(subject, { tunnel: (tunnel) => onTunnel(tunnel) });
    },
    onDrop(listener) {
      conn.on("drop", ({ relay, code, reason }) => listener(`${relay}: ${code} ${reason}`));
    },
    onReconnect(listener) {
      // "reconnect" comes once the joins are restored on the new relay, which is what a subscriber needs.
      conn.on("reconnect", ({ relay }) => listener(relay));
    },
    close: () => conn.close(),
  };
}
