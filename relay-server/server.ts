// A relay server: the runtime-neutral relay engine behind a WebSocket listener, with logs.

import { FRAME_HEADROOM } from "../core/wire/frames.ts";
import { Relay, WS_FRAME_OVERHEAD, listenWebSocket } from "../core/node.ts";
import type { RelayServerConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import { FrameTap } from "./tap.ts";

/** How long a closing relay waits for its links' closing handshakes. */
const CLOSE_GRACE_MS = 2000;

export interface RelayServer {
  readonly url: string;
  readonly port: number;
  readonly relay: Relay;
  close(): Promise<void>;
}

export async function startRelayServer(config: RelayServerConfig, log: Logger): Promise<RelayServer> {
  const relay = new Relay({
    maxMessage: config.maxMessage,
    heartbeatMs: config.heartbeatMs,
    outboundQueueLimit: config.outboundQueueLimit,
    slowConsumer: config.slowConsumer,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    startupGraceMs: config.startupGraceMs,
    log,
  });
  const tap = config.tap ? new FrameTap(config.tap) : null;
  if (tap) log("tap-enabled", { file: config.tap!, warning: "every frame is written to disk; debugging only" });
  let listener;
  try {
    listener = await listenWebSocket({
      host: config.host,
      port: config.port,
      // The socket refuses frames past this with close code 1009, before they reach the engine.
      maxFrame: config.maxMessage + FRAME_HEADROOM + WS_FRAME_OVERHEAD,
      onLink: (link) => relay.accept(tap ? tap.wrap(link) : link),
    });
  } catch (error) {
    relay.close();
    throw error;
  }
  log("relay-listening", { url: listener.url, relay: relay.relayHex, maxMessage: config.maxMessage });
  return {
    url: listener.url,
    port: listener.port,
    relay,
    close: async () => {
      const listenerClosed = listener.stopAccepting();
      // Closing the links lets the listener finish: it waits for every connection it accepted.
      relay.close();
      await Promise.race([listenerClosed, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS))]);
      tap?.close();
    },
  };
}
