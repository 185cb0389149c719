// NATS behind the benchmark interface, with the `nats` npm client as its documentation uses it.

import { Events, connect } from "nats";
import type { BenchClient } from "./client.ts";

/**
 * nats.js publish() is synchronous and buffers without limit. The benchmark publishes in batches and
 * awaits a flush (a PING/PONG round trip through the server) one batch behind, which bounds what is in
 * flight to two batches without ever letting the pipe run dry. A batch is 1,000 messages, or 4 MiB of
 * them for large messages.
 */
const FLUSH_EVERY_MESSAGES = 1000;
const FLUSH_EVERY_BYTES = 4 * 1024 * 1024;

export async function openNatsClient(server: string): Promise<BenchClient> {
  const nc = await connect({ servers: server, name: "iris-mesh-bench" });
  let batch = 0;
  let batchBytes = 0;
  let previousFlush: Promise<void> = Promise.resolve();
  const noTunnels = () => Promise.reject(new Error("NATS has no tunnels: the raw ws forwarder is their baseline"));
  return {
    async subscribe(subject, onMessage) {
      nc.subscribe(subject, { callback: (error, msg) => (error ? report(error) : onMessage(msg.data)) });
      // The server has processed our SUB once it answers the PING that follows it.
      await nc.flush();
    },
    publish(subject, body) {
      nc.publish(subject, body);
      batch++;
      batchBytes += body.length;
      if (batch < FLUSH_EVERY_MESSAGES && batchBytes < FLUSH_EVERY_BYTES) return undefined;
      batch = 0;
      batchBytes = 0;
      const waitFor = previousFlush;
      previousFlush = nc.flush();
      return waitFor;
    },
    flush: () => nc.flush(),
    async serve(subject, answer, group) {
      const callback = (error: Error | null, msg: { data: Uint8Array; respond(data: Uint8Array): boolean }) =>
        error ? report(error) : msg.respond(answer(msg.data));
      nc.subscribe(subject, group ? { queue: group, callback } : { callback });
      await nc.flush();
    },
    request: async (subject, body, timeoutMs) => (await nc.request(subject, body, { timeout: timeoutMs })).data,
    openTunnel: noTunnels,
    serveTunnels: noTunnels,
    onDrop(listener) {
      void (async () => {
        for await (const status of nc.status()) if (status.type === Events.Disconnect) listener(String(status.data));
      })();
    },
    onReconnect(listener) {
      void (async () => {
        for await (const status of nc.status()) if (status.type === Events.Reconnect) listener(String(status.data));
      })();
    },
    close: () => nc.close(),
  };
}

function report(error: Error): void {
  process.stderr.write(`nats: ${error.message}\n`);
}
