// NATS behind the benchmark interface, with the `nats` npm client as its documentation uses it.

import { Events, connect } from "nats";
import type { BenchClient } from "./client.ts";

/**
 * nats.js publish() is synchronous and buffers without limit. The benchmark publishes in batches and
 * awaits a flush (a PING/PONG round trip through the server) one batch behind, which bounds what is in
 * flight to two batches without ever letting the pipe run dry.
 */
const FLUSH_EVERY = 1000;

export async function openNatsClient(server: string): Promise<BenchClient> {
  const nc = await connect({ servers: server, name: "iris-mesh-bench" });
  let published = 0;
  let previousFlush: Promise<void> = Promise.resolve();
  return {
    async subscribe(subject, onMessage) {
      nc.subscribe(subject, { callback: (error, msg) => (error ? report(error) : onMessage(msg.data)) });
      // The server has processed our SUB once it answers the PING that follows it.
      await nc.flush();
    },
    publish(subject, body) {
      nc.publish(subject, body);
      if (++published % FLUSH_EVERY !== 0) return undefined;
      const waitFor = previousFlush;
      previousFlush = nc.flush();
      return waitFor;
    },
    flush: () => nc.flush(),
    async serveEcho(subject) {
      nc.subscribe(subject, { callback: (error, msg) => (error ? report(error) : msg.respond(msg.data)) });
      await nc.flush();
    },
    request: async (subject, body, timeoutMs) => (await nc.request(subject, body, { timeout: timeoutMs })).data,
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
