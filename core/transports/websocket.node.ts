// The only module that imports `ws`. Node has no global WebSocket in version 20, so Node peers get this
// client factory injected, and relays wrap the server's sockets with it.

import { WebSocket, WebSocketServer } from "ws";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { WebSocketLink, webSocketDialer } from "./websocket.ts";
import type { WebSocketLike } from "./websocket.ts";
import type { Dialer, Link } from "./link.ts";

/** Frames above this overhead over the largest message are refused by the socket itself. */
export const WS_FRAME_OVERHEAD = 64 * 1024;

/**
 * A `ws` socket whose sends within one turn of the event loop leave in one write: the TCP socket is
 * corked at the first send and uncorked once the turn's synchronous work and promise jobs are done.
 * Without it, every frame costs a system call; the profile of a publisher showed that to be a third of
 * its time. Nothing waits longer than the turn it was sent in.
 */
class CorkingWebSocket implements WebSocketLike {
  private raw: Socket | null = null;
  private corked = false;

  constructor(private readonly socket: WebSocket) {}

  /** The TCP socket under the WebSocket, once the handshake has given it. */
  useTcpSocket(raw: Socket): void {
    this.raw = raw;
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
    const raw = this.raw;
    if (raw && !this.corked && !raw.destroyed) {
      this.corked = true;
      raw.cork();
      process.nextTick(() => {
        this.corked = false;
        raw.uncork();
      });
    }
    this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  // The listener's event type differs between `ws` and WHATWG sockets; WebSocketLike declares it loosely.

  // biome-ignore lint/suspicious/noExplicitAny: the event type is declared loosely on purpose (above)
  addEventListener(type: string, listener: (event: any) => void): void {
    this.socket.addEventListener(type as "message", listener);
  }
}

export function nodeWebSocketFactory(url: string, maxFrame: number): WebSocketLike {
  const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: maxFrame });
  // Buffers are Uint8Arrays: no copy into an ArrayBuffer on every frame.
  socket.binaryType = "nodebuffer";
  const corking = new CorkingWebSocket(socket);
  socket.once("upgrade", (response: IncomingMessage) => corking.useTcpSocket(response.socket));
  return corking;
}

export const nodeWebSocketDialer: Dialer = webSocketDialer(nodeWebSocketFactory);

export interface WebSocketListenerOptions {
  host: string;
  port: number;
  maxFrame: number;
  onLink(link: Link, request: IncomingMessage): void;
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
    const http = createServer((request, response) => {
      if (options.onHttp) return options.onHttp(request, response);
      response.writeHead(426, { "content-type": "text/plain" });
      response.end("this is an iris-mesh relay: connect with a WebSocket\n");
    });
    const server = new WebSocketServer({
      server: http,
      maxPayload: options.maxFrame,
      perMessageDeflate: false,
      clientTracking: false,
    });
    server.on("connection", (socket, request) => {
      socket.binaryType = "nodebuffer";
      const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      const corking = new CorkingWebSocket(socket);
      corking.useTcpSocket(request.socket);
      options.onLink(new WebSocketLink(corking, remote), request);
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
        url: `ws://${host}:${port}`,
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
