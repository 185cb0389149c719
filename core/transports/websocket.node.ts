// The only module that imports `ws`. Node has no global WebSocket in version 20, so Node peers get this
// client factory injected, and relays wrap the server's sockets with it.

import { WebSocket, WebSocketServer } from "ws";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { rootCertificates } from "node:tls";
import { WebSocketLink, webSocketDialer } from "./websocket.ts";
import { nodeScheduling } from "../util/scheduling.node.ts";
import type { WebSocketLike } from "./websocket.ts";
import type { Dialer, Link } from "./link.ts";

/** Frames above this overhead over the largest message are refused by the socket itself. */
export const WS_FRAME_OVERHEAD = 64 * 1024;

/**
 * A `ws` socket as the links see it: `pause()` and `resume()` stop and restart reading from the network
 * (so a relay can make a fast sender wait), and "drain" comes from the TCP socket under it, once its
 * write buffer empties. The TCP socket comes from the public `upgrade` event (client) or the upgrade
 * request (server).
 */
class NodeWebSocket implements WebSocketLike {
  private raw: Socket | null = null;
  private readonly drainListeners: Array<(event?: unknown) => void> = [];

  constructor(private readonly socket: WebSocket) {}

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
    this.socket.close(code, reason);
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

export function nodeWebSocketFactory(url: string, maxFrame: number, tls: ClientTlsOptions = {}): WebSocketLike {
  // `ca` replaces Node's bundled roots: they are added back so a public certificate still verifies.
  const ca = tls.ca === undefined ? undefined : [...rootCertificates, ...[tls.ca].flat()];
  const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: maxFrame, ca });
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
      server: http,
      maxPayload: options.maxFrame,
      perMessageDeflate: false,
      clientTracking: false,
    });
    server.on("connection", (socket, request) => {
      socket.binaryType = "nodebuffer";
      const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      const wrapped = new NodeWebSocket(socket);
      wrapped.useTcpSocket(request.socket);
      options.onLink(new WebSocketLink(wrapped, remote, { afterTurn: nodeScheduling.afterTurn }), request);
    });
    // `ws` re-emits the HTTP server's errors (a port in use, say); unheard, they would crash the process.
    server.on("error", reject);
    http.listen(options.port, options.host, () => {
      server.off("error", reject);
      server.on("error", () => {}); // after listening, errors concern single connections, which close
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
