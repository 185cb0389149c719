// Links over WebSocket, written against the WHATWG WebSocket interface that browsers have and that the
// `ws` package's client and server sockets also implement. The constructor is injected: core never
// imports `ws`.

import { CloseCode, HandlerSlot } from "./link.ts";
import type { Dialer, Link, LinkHandlers } from "./link.ts";

/** The part of the WHATWG WebSocket that links use. */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  // The event objects differ between browsers and `ws`; only `data`, `code` and `reason` are read.
  // biome-ignore lint/suspicious/noExplicitAny: the event type is declared loosely on purpose (above)
  addEventListener(type: string, listener: (event: any) => void): void;
}

/** Creates a client WebSocket for a URL; `maxFrame` bounds what it accepts where the runtime allows. */
export type WebSocketFactory = (url: string, maxFrame: number) => WebSocketLike;

const OPEN = 1;
const MAX_CLOSE_REASON_BYTES = 123;

/** Wraps a WebSocket in a Link. Works for sockets still connecting and for ones already open. */
export class WebSocketLink implements Link {
  readonly kind = "websocket" as const;
  private readonly slot = new HandlerSlot();
  private isClosed = false;

  constructor(
    private readonly socket: WebSocketLike,
    readonly remote: string,
  ) {
    if (socket.binaryType !== "nodebuffer") socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event: { data: unknown }) => this.onMessage(event.data));
    socket.addEventListener("close", (event: { code: number; reason: string }) =>
      this.onClose(event.code, event.reason),
    );
    // A close always follows an error, and that is where the link reports it. Without a listener,
    // Node's `ws` would throw the error (an oversized frame, say) and take the whole relay down.
    socket.addEventListener("error", () => {});
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  listen(handlers: LinkHandlers): void {
    this.slot.install(handlers);
  }

  send(frame: Uint8Array): void {
    if (this.isClosed || this.socket.readyState !== OPEN) return;
    this.socket.send(frame);
  }

  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.isClosed) return;
    const text = truncateUtf8(reason, MAX_CLOSE_REASON_BYTES);
    try {
      this.socket.close(code, text);
    } catch {
      // Browsers only let clients send 1000 and 3000-4999.
      this.socket.close(CloseCode.Normal, text);
    }
    // Report the close now rather than after the closing handshake: the link is unusable from here on.
    this.onClose(code, reason);
  }

  private onMessage(data: unknown): void {
    if (this.isClosed) return;
    if (data instanceof Uint8Array) this.slot.frame(data);
    else if (data instanceof ArrayBuffer) this.slot.frame(new Uint8Array(data));
    else this.close(CloseCode.Protocol, "only binary frames are spoken here");
  }

  private onClose(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.slot.close(code, reason || closeText(code));
  }
}

function closeText(code: number): string {
  if (code === 1006) return "connection lost";
  if (code === CloseCode.TooBig) return "message too big";
  return `closed (${code})`;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  let out = text;
  while (encoder.encode(out + "…").length > maxBytes) out = out.slice(0, -1);
  return out + "…";
}

/** A Dialer for ws:// and wss:// addresses using the injected WebSocket factory. */
export function webSocketDialer(factory: WebSocketFactory): Dialer {
  return (address, options) =>
    new Promise<Link>((resolve, reject) => {
      if (options.signal?.aborted) return reject(options.signal.reason);
      let socket: WebSocketLike;
      try {
        socket = factory(address, options.maxFrame);
      } catch (error) {
        return reject(error);
      }
      // Wrap before open so no early frame can slip past the handlers.
      const link = new WebSocketLink(socket, address);
      let settled = false;
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        link.close(CloseCode.Normal, "dial failed");
        reject(new Error(message));
      };
      options.signal?.addEventListener("abort", () => fail(`dial to ${address} aborted`), { once: true });
      socket.addEventListener("open", () => {
        if (settled) return;
        settled = true;
        resolve(link);
      });
      socket.addEventListener("error", (event: { message?: string; error?: Error }) =>
        fail(`cannot reach ${address}: ${event.error?.message ?? event.message ?? "connection failed"}`),
      );
      socket.addEventListener("close", (event: { code: number; reason: string }) =>
        fail(`cannot reach ${address}: closed (${event.code}) ${event.reason}`),
      );
    });
}
