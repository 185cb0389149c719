// A relay server: the runtime-neutral relay engine behind a WebSocket listener, with logs and a JSON
// status page on the same port.

import type { IncomingMessage, ServerResponse } from "node:http";
import { FRAME_HEADROOM } from "../core/wire/frames.ts";
import { Relay, WS_FRAME_OVERHEAD, listenWebSocket, nodeCrypto, nodeWebSocketDialer } from "../core/internal.node.ts";
import type { Link } from "../core/internal.node.ts";
import { nodeWebSocketDialerTrusting } from "../core/transports/websocket.node.ts";
import type { RelayServerConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import { FrameTap } from "./tap.ts";
import { loadTls } from "./tls.ts";

/** How long a closing relay waits for its links' closing handshakes. */
const CLOSE_GRACE_MS = 2000;

export interface RelayServer {
  readonly url: string;
  readonly port: number;
  readonly relay: Relay;
  /** Hands peers over to other relays, then closes (SIGTERM). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a relay; a ConfigError if its TLS files will not do (before anything listens). */
export async function startRelayServer(config: RelayServerConfig, log: Logger): Promise<RelayServer> {
  const tls = loadTls(config);
  const dialer = tls.ca === null ? nodeWebSocketDialer : nodeWebSocketDialerTrusting({ ca: tls.ca });
  const tap = config.tap ? new FrameTap(config.tap) : null;
  if (tap) log("tap-enabled", { file: config.tap!, warning: "every frame is written to disk; debugging only" });
  // The relay needs its advertised address, which with port 0 is known only once listening; links
  // that arrive in between wait here (none can: nobody knows the port yet).
  let relay: Relay | null = null;
  const early: Array<{ link: Link; address: string }> = [];
  const listener = await listenWebSocket({
    host: config.host,
    port: config.port,
    tls: tls.server ?? undefined,
    // The socket refuses frames past this with close code 1009, before they reach the engine.
    maxFrame: config.maxMessage + FRAME_HEADROOM + WS_FRAME_OVERHEAD,
    onLink: (link, request) => {
      const tapped = tap ? tap.wrap(link) : link;
      const address = request.socket.remoteAddress ?? "unknown";
      if (relay) relay.accept(tapped, address);
      else early.push({ link: tapped, address });
    },
    onHttp: (request, response) => serveHttp(relay, request, response),
  });
  relay = new Relay({
    crypto: nodeCrypto,
    address: config.advertise ?? listener.url,
    seeds: config.seeds,
    dialer: tap ? async (address, options) => tap.wrap(await dialer(address, options)) : dialer,
    maxMessage: config.maxMessage,
    heartbeatMs: config.heartbeatMs,
    queueHighWater: config.queueHighWater,
    stallTimeoutMs: config.stallTimeoutMs,
    outboundQueueLimit: config.queueLimit,
    slowConsumer: config.slowConsumer,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    startupGraceMs: config.startupGraceMs,
    maxRelayLinks: config.maxRelayLinks,
    networkKey: config.networkKey ?? undefined,
    maxLinksPerAddress: config.maxLinksPerAddress,
    maxHandshakesPerAddress: config.maxHandshakesPerAddress,
    maxJoinsPerPeer: config.maxJoinsPerPeer,
    maxTunnelsPerPeer: config.maxTunnelsPerPeer,
    log,
  });
  for (const { link, address } of early.splice(0)) relay.accept(link, address);
  const running = relay;
  log("relay-listening", {
    url: listener.url,
    relay: running.relayHex,
    address: running.address,
    seeds: config.seeds.join(",") || "none",
    maxMessage: config.maxMessage,
    ...(tls.expires ? { certificateExpires: tls.expires.toISOString() } : {}),
  });

  const finish = async () => {
    running.close();
    await Promise.race([listener.stopAccepting(), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS))]);
    tap?.close();
  };
  return {
    url: listener.url,
    port: listener.port,
    relay: running,
    drain: async () => {
      // Stop taking connections first: a draining relay must not gain peers.
      const stopped = listener.stopAccepting();
      await running.drain(config.drainTimeoutMs);
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS))]);
      tap?.close();
    },
    close: finish,
  };
}

/**
 * GET /status: the relay's links, peers and trees as JSON (what the dashboard draws), and its memory.
 * `?gc=1` collects garbage first when Node runs with --expose-gc, so that `memory.live` says what the
 * relay really holds (tests use it to show an attack leaves nothing behind).
 */
function serveHttp(relay: Relay | null, request: IncomingMessage, response: ServerResponse): void {
  const [path, query = ""] = (request.url ?? "/").split("?");
  if (request.method === "GET" && path === "/status" && relay) {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc && new URLSearchParams(query).get("gc") === "1") gc();
    const { rss, heapUsed, external } = process.memoryUsage();
    response.writeHead(200, {
      "content-type": "application/json",
      "access-control-allow-origin": "*",
      "cache-control": "no-store",
    });
    response.end(
      JSON.stringify({ ...relay.snapshot(), memory: { rss, heapUsed, external, live: heapUsed + external } }),
    );
    return;
  }
  response.writeHead(path === "/status" ? 503 : 426, { "content-type": "text/plain" });
  response.end(
    path === "/status"
      ? "starting\n"
      : "this is an iris-mesh relay: connect with a WebSocket; GET /status for its state\n",
  );
}
