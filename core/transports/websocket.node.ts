// The only module that imports `ws`. Node has no global WebSocket in version 20, so Node peers get this
// client factory injected, and relays wrap the server's sockets with it.

import { WebSocket, WebSocketServer } from "ws";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server, Socket } from "node:net";
import { rootCertificates } from "node:tls";
import { WebSocketLink, webSocketDialer } from "./websocket.ts";
import { nodeScheduling } from "../util/scheduling.node.ts";
import type { WebSocketLike } from "./websocket.ts";
import { cutsLink } from "./link.ts";
import type { Dialer, Link } from "./link.ts";

/** Frames above this overhead over the largest message are refused by the socket itself. */
export const WS_FRAME_OVERHEAD = 64 * 1024;

/** A cut's close frame gets this long to leave before the connection is reset. */
const CUT_GRACE_MS = 1000;
/**
 * A relay closing a link in good order waits this long for the other end's closing handshake before it
 * drops the connection (`ws` alone would hold the socket for 30 s).
 */
const CLOSE_HANDSHAKE_MS = 5000;
const OPEN = 1;
/** Connections the kernel may queue for the listener to accept (it caps this at net.core.somaxconn). */
const ACCEPT_BACKLOG = 4096;

/**
 * A `ws` socket as the links see it: `pause()` and `resume()` stop and restart reading from the network
 * (so a relay can make a fast sender wait), and "drain" comes from the TCP socket under it, once its
 * write buffer empties. The TCP socket comes from the public `upgrade` event (client) or the upgrade
 * request (server).
 */
class NodeWebSocket implements WebSocketLike {
  private raw: Socket | null = null;
  private readonly drainListeners: Array<(event?: unknown) => void> = [];

  constructor(
    private readonly socket: WebSocket,
    /** A relay's end: it waits for no closing handshake longer than CLOSE_HANDSHAKE_MS. */
    private readonly server = false,
  ) {}

  /** The TCP socket under the WebSocket, once the handshake has given it. */
  useTcpSocket(raw: Socket): void {
    this.raw = raw;
    for (const listener of this.drainListeners) raw.on("drain", listener);
  }

  get binaryType(): string {
    return this.socket.binaryType;
  }
  set binaryType(type: string) {
    this.socket.binaryType = type as WebSocket["binaryType"];
  }
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }
  get readyState(): number {
    return this.socket.readyState;
  }

  send(data: Uint8Array): void {
    this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    const raw = this.raw;
    if (!raw || raw.destroyed || this.socket.readyState !== OPEN) {
      this.socket.close(code, reason);
      return;
    }
    if (code !== undefined && cutsLink(code)) return this.cut(raw, code, reason);
    this.socket.close(code, reason);
    // A peer's end waits for the relay's confirmation that it read everything (ws gives up after 30 s).
    if (this.server) setTimeout(() => raw.destroy(), CLOSE_HANDSHAKE_MS).unref();
  }

  /**
   * Ends the connection so that the other end learns at once. Behind queued data, the close frame would
   * reach it only once it had read all of that (a slow consumer may take minutes): then the connection
   * is reset instead, dropping the data. Otherwise the close frame leaves now and the connection ends
   * behind it, with no closing handshake to wait for (a flood of silent sockets must not hold
   * descriptors for it).
   */
  private cut(raw: Socket, code: number, reason: string | undefined): void {
    if (this.socket.bufferedAmount > 0) {
      raw.resetAndDestroy();
      return;
    }
    this.socket.close(code, reason);
    raw.end();
    if (raw.writableFinished) raw.destroy();
    else raw.once("finish", () => raw.destroy());
    setTimeout(() => {
      if (!raw.destroyed) raw.resetAndDestroy();
    }, CUT_GRACE_MS).unref();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  // The listener's event type differs between `ws` and WHATWG sockets; WebSocketLike declares it loosely.
  // biome-ignore lint/suspicious/noExplicitAny: the event type is declared loosely on purpose (above)
  addEventListener(type: string, listener: (event: any) => void): void {
    if (type === "drain") {
      this.drainListeners.push(listener);
      this.raw?.on("drain", listener);
      return;
    }
    this.socket.addEventListener(type as "message", listener);
  }
}

/** What a client trusts when it dials wss://: extra CA certificates (PEM), besides Node's bundled roots. */
export interface ClientTlsOptions {
  ca?: string | string[];
}

/**
 * The masking key of every frame a Node client sends: all zeros, which `ws` at both ends takes as "no
 * masking to do". Masking (RFC 6455 section 10.3) keeps a script in a browser from choosing the bytes
 * that a proxy on the way sees; a Node peer or relay is no such script, and what it sends is our own
 * framing around sealed payloads. With a random key, the sender copies and XORs every byte it sends
 * and the relay XORs it again on the way in: about a tenth of a publisher's CPU and more of a relay's.
 * Browsers mask as the standard says, whatever we do; relays accept both.
 */
function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

export function nodeWebSocketFactory(url: string, maxFrame: number, tls: ClientTlsOptions = {}): WebSocketLike {
  // `ca` replaces Node's bundled roots: they are added back so a public certificate still verifies.
  const ca = tls.ca === undefined ? undefined : [...rootCertificates, ...[tls.ca].flat()];
  const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: maxFrame, ca, generateMask: zeroMask });
  // Buffers are Uint8Arrays: no copy into an ArrayBuffer on every frame.
  socket.binaryType = "nodebuffer";
  const wrapped = new NodeWebSocket(socket);
  socket.once("upgrade", (response: IncomingMessage) => wrapped.useTcpSocket(response.socket));
  return wrapped;
}

export const nodeWebSocketDialer: Dialer = webSocketDialer(nodeWebSocketFactory, {
  afterTurn: nodeScheduling.afterTurn,
});

/** A dialer that trusts extra CA certificates on wss:// (a relay's --tls-ca). */
export function nodeWebSocketDialerTrusting(tls: ClientTlsOptions): Dialer {
  return webSocketDialer((url, maxFrame) => nodeWebSocketFactory(url, maxFrame, tls), {
    afterTurn: nodeScheduling.afterTurn,
  });
}

export interface WebSocketListenerOptions {
  host: string;
  port: number;
  maxFrame: number;
  /**
   * Connections from one address that have not completed their WebSocket upgrade yet: past this many,
   * a new one from that address is dropped at once. Unlimited when unset.
   */
  maxPendingPerAddress?: number;
  /** A connection that has not completed its upgrade this long after it was accepted is dropped. */
  upgradeTimeoutMs?: number;
  /**
   * Asked when a connection is accepted, before anything else is done with it: whether to drop it at
   * once (its address already has as many handshakes in progress as it may have, say).
   */
  refuseConnection?(address: string): boolean;
  onLink(link: Link, request: IncomingMessage): void;
  /** Serve wss:// (and HTTPS) with this certificate chain and private key, PEM. */
  tls?: { cert: string; key: string };
  /** Plain HTTP requests on the same port (status pages); without it they get 426 Upgrade Required. */
  onHttp?(request: IncomingMessage, response: ServerResponse): void;
}

export interface WebSocketListener {
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting new connections at once; existing links stay open. Resolves when the listening
   * socket and every connection it accepted have closed.
   */
  stopAccepting(): Promise<void>;
}

/** Listens for WebSocket connections and hands each one over as a Link. */
export function listenWebSocket(options: WebSocketListenerOptions): Promise<WebSocketListener> {
  return new Promise((resolve, reject) => {
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      if (options.onHttp) return options.onHttp(request, response);
      response.writeHead(426, { "content-type": "text/plain" });
      response.end("this is an iris-mesh relay: connect with a WebSocket\n");
    };
    const http = options.tls ? createTlsServer(options.tls, onRequest) : createServer(onRequest);
    const server = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrame,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const pending = new PendingUpgrades(options.maxPendingPerAddress, options.upgradeTimeoutMs);
    triageConnections(http, (socket) => {
      if (options.refuseConnection?.(socket.remoteAddress ?? "unknown")) socket.destroy();
      else pending.accepted(socket);
    });
    http.on("upgrade", (request: IncomingMessage, socket: Socket, head: Buffer) => {
      server.handleUpgrade(request, socket, head, (ws) => server.emit("connection", ws, request));
    });
    server.on("connection", (socket: WebSocket, request: IncomingMessage) => {
      pending.upgraded(request.socket);
      socket.binaryType = "nodebuffer";
      const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      const wrapped = new NodeWebSocket(socket, true);
      wrapped.useTcpSocket(request.socket as Socket);
      options.onLink(new WebSocketLink(wrapped, remote, { afterTurn: nodeScheduling.afterTurn }), request);
    });
    // Unheard, errors (a port in use, say) would crash the process.
    http.on("error", reject);
    // A deep accept queue: in a flood of connections, the kernel keeps a legitimate one waiting its turn
    // (the relay accepts and triages fast) instead of dropping its SYN, which would cost it a second.
    http.listen({ port: options.port, host: options.host, backlog: ACCEPT_BACKLOG }, () => {
      http.off("error", reject);
      http.on("error", () => {}); // after listening, errors concern single connections, which close
      server.on("error", () => {});
      const address = http.address();
      const port = typeof address === "object" && address ? address.port : options.port;
      const host = options.host.includes(":") ? `[${options.host}]` : options.host;
      resolve({
        url: `${options.tls ? "wss" : "ws"}://${host}:${port}`,
        port,
        stopAccepting: () =>
          new Promise<void>((done) => {
            server.close();
            http.close(() => done());
            http.closeIdleConnections();
          }),
      });
    });
  });
}

/**
 * Puts `admit` in front of everything the server does with a new connection (HTTP parser, TLS
 * handshake): a connection it refuses (it destroys the socket) costs nothing more.
 */
function triageConnections(server: Server, admit: (socket: Socket) => void): void {
  const handlers = server.listeners("connection") as Array<(socket: Socket) => void>;
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    admit(socket);
    if (socket.destroyed) return;
    for (const handler of handlers) handler.call(server, socket);
  });
}

/**
 * Connections that have not completed their WebSocket upgrade yet, counted per address and given a
 * deadline. Before the upgrade a connection is just a socket and a parser, cheap for an attacker to open
 * by the thousand and hold silent; without this, such sockets would sit until the HTTP server's own
 * timeouts (a minute and more) and could exhaust the relay's descriptors, locking everyone out. The
 * relay engine's own limits (admission.ts) take over after the upgrade.
 */
class PendingUpgrades {
  private readonly byAddress = new Map<string, number>();
  /**
   * By the remote address and port, which the socket that completes the upgrade shares with the one
   * accepted even when it is not the same object (a TLS socket over the TCP one).
   */
  private readonly pending = new Map<string, { address: string; deadline?: ReturnType<typeof setTimeout> }>();

  constructor(
    private readonly maxPerAddress = Number.POSITIVE_INFINITY,
    private readonly timeoutMs?: number,
  ) {}

  accepted(socket: Socket): void {
    const address = socket.remoteAddress ?? "unknown";
    const count = this.byAddress.get(address) ?? 0;
    if (count >= this.maxPerAddress) {
      socket.destroy();
      return;
    }
    this.byAddress.set(address, count + 1);
    const key = keyOf(socket);
    const deadline =
      this.timeoutMs === undefined ? undefined : setTimeout(() => socket.destroy(), this.timeoutMs).unref();
    this.pending.set(key, { address, deadline });
    socket.once("close", () => this.settle(key));
  }

  /** The socket completed its upgrade: the relay engine watches it from now on. */
  upgraded(socket: Socket): void {
    this.settle(keyOf(socket));
  }

  private settle(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    if (entry.deadline) clearTimeout(entry.deadline);
    const count = (this.byAddress.get(entry.address) ?? 1) - 1;
    if (count > 0) this.byAddress.set(entry.address, count);
    else this.byAddress.delete(entry.address);
  }
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
