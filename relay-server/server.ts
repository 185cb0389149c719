// A relay server: the runtime-neutral relay engine behind a WebSocket listener (wss:// with TLS), with
// health probes on the same port, and the operator's status and metrics on an admin listener of their
// own (admin.ts).

import type { IncomingMessage, ServerResponse } from "node:http";
import { FRAME_HEADROOM } from "../core/wire/frames.ts";
import { Relay, WS_FRAME_OVERHEAD, listenWebSocket, nodeCrypto, nodeWebSocketDialer } from "../core/internal.node.ts";
import type { Link } from "../core/internal.node.ts";
import { nodeWebSocketDialerTrusting } from "../core/transports/websocket.node.ts";
import { listenAdmin } from "./admin.ts";
import type { AdminListener } from "./admin.ts";
import type { RelayServerConfig } from "./config.ts";
import { readiness, respond, serveProbe } from "./health.ts";
import type { HealthState } from "./health.ts";
import type { RelayLogger } from "./log.ts";
import { FrameTap } from "./tap.ts";
import { loadTls } from "./tls.ts";

/** How long a closing relay waits for its links' closing handshakes. */
const CLOSE_GRACE_MS = 2000;

export interface RelayServer {
  readonly url: string;
  readonly port: number;
  /** The admin listener's address (http://host:port), or null when it is off. */
  readonly adminUrl: string | null;
  readonly relay: Relay;
  /** Hands peers over to other relays, then closes (SIGTERM). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a relay; a ConfigError if its TLS files will not do (before anything listens). */
export async function startRelayServer(config: RelayServerConfig, logger: RelayLogger): Promise<RelayServer> {
  const { log } = logger;
  const tls = loadTls(config);
  const dialer = tls.ca === null ? nodeWebSocketDialer : nodeWebSocketDialerTrusting({ ca: tls.ca });
  const tap = config.tap ? new FrameTap(config.tap) : null;
  if (tap) log("tap-enabled", { file: config.tap!, warning: "every frame is written to disk; debugging only" });
  let listening = false;
  let draining = false;
  // The relay needs its advertised address, which with port 0 is known only once listening; links
  // that arrive in between wait here (none can: nobody knows the port yet).
  let relay: Relay | null = null;
  const health = (): HealthState => ({
    listening,
    draining,
    seeds: config.seeds.length,
    relayLinks: relay ? relay.backbone.allLinks().length : 0,
  });
  const early: Array<{ link: Link; address: string }> = [];
  const listener = await listenWebSocket({
    host: config.host,
    port: config.port,
    tls: tls.server ?? undefined,
    // The socket refuses frames past this with close code 1009, before they reach the engine.
    maxFrame: config.maxMessage + FRAME_HEADROOM + WS_FRAME_OVERHEAD,
    // Before the upgrade, the same bounds as the handshake after it (the engine's admission).
    maxPendingPerAddress: config.maxHandshakesPerAddress,
    upgradeTimeoutMs: config.handshakeTimeoutMs,
    refuseConnection: (address) => relay?.refusesConnection(address) ?? false,
    onLink: (link, request) => {
      const tapped = tap ? tap.wrap(link) : link;
      const address = request.socket.remoteAddress ?? "unknown";
      if (relay) relay.accept(tapped, address);
      else early.push({ link: tapped, address });
    },
    onHttp: (request, response) => servePublic(request, response, health),
  });
  listening = true;
  relay = new Relay({
    crypto: nodeCrypto,
    address: config.advertise ?? listener.url,
    seeds: config.seeds,
    dialer: tap ? async (address, options) => tap.wrap(await dialer(address, options)) : dialer,
    maxMessage: config.maxMessage,
    heartbeatMs: config.heartbeatMs,
    relayHeartbeatMs: config.relayHeartbeatMs,
    missedHeartbeats: config.missedHeartbeats,
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

  let admin: AdminListener | null = null;
  if (config.adminPort !== null) {
    // prom-client takes a while to load: a relay without an admin listener does not pay for it.
    const { RelayMetrics } = await import("./metrics.ts");
    const metrics = new RelayMetrics({
      relayId: running.relayHex,
      stats: () => running.statsReport(),
      ready: () => readiness(health()).ready,
      draining: () => draining,
      suppressedLogLines: () => logger.suppressed(),
      certificateExpires: tls.expires,
    });
    try {
      admin = await listenAdmin({
        host: config.adminHost,
        port: config.adminPort,
        token: config.adminToken,
        routes: {
          status: ({ collectGarbage }) => statusReport(running, collectGarbage),
          metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }),
          health,
        },
      });
    } catch (error) {
      running.close();
      await listener.stopAccepting();
      throw error;
    }
    log("admin-listening", { url: admin.url, token: config.adminToken !== null });
  }
  log("relay-listening", {
    url: listener.url,
    relay: running.relayHex,
    address: running.address,
    seeds: config.seeds.join(",") || "none",
    maxMessage: config.maxMessage,
    ...(tls.expires ? { certificateExpires: tls.expires.toISOString() } : {}),
  });

  const grace = () => new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS));
  const stopAccepting = () => {
    listening = false;
    return listener.stopAccepting();
  };
  return {
    url: listener.url,
    port: listener.port,
    adminUrl: admin?.url ?? null,
    relay: running,
    drain: async () => {
      // Stop taking connections first: a draining relay must not gain peers. The admin listener stays
      // up until the end, so /readyz and /metrics show the drain.
      draining = true;
      const stopped = stopAccepting();
      await running.drain(config.drainTimeoutMs);
      await Promise.race([stopped, grace()]);
      await admin?.close();
      tap?.close();
    },
    close: async () => {
      running.close();
      await Promise.race([stopAccepting(), grace()]);
      await admin?.close();
      tap?.close();
    },
  };
}

/** The public port answers the probes, and tells anything else that it is a WebSocket endpoint. */
function servePublic(request: IncomingMessage, response: ServerResponse, health: () => HealthState): void {
  const path = new URL(request.url ?? "/", "http://relay").pathname;
  if (request.method === "GET" || request.method === "HEAD") {
    if (serveProbe(path, health, response, false)) return;
  }
  respond(response, 426, "this is an iris-mesh relay: connect with a WebSocket\n");
}

/**
 * The /status report: the relay's links, peers and trees (what the dashboard draws), its traffic, and
 * its memory. `collectGarbage` collects first when Node runs with --expose-gc, so that `memory.live`
 * says what the relay really holds (tests use it to show an attack leaves nothing behind).
 */
function statusReport(relay: Relay, collectGarbage: boolean): unknown {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc && collectGarbage) gc();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { ...relay.snapshot(), memory: { rss, heapUsed, external, live: heapUsed + external } };
}
