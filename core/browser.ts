// The browser entry (`import ... from "iris-mesh"` in a bundler's browser build): the public API with
// the page's own WebSocket and RTCPeerConnection injected. Nothing reachable from this module may need
// Node (no `ws`, no werift, no node:*); test/integration/browser-bundle.test.ts proves it.

import { Connection } from "./peer/connection.ts";
import type { ConnectOptions } from "./peer/connection-options.ts";
import type { DirectLinkOptions } from "./peer/direct-links.ts";
import type { PeerConnectionFactory } from "./transports/webrtc.ts";
import { webSocketDialer } from "./transports/websocket.ts";
import type { WebSocketLike } from "./transports/websocket.ts";
import { checkWebSocketUrls } from "./transports/websocket-url.ts";

export * from "./index.ts";

/** The page's WebSocket. Browsers enforce no frame size limit on the client side, so maxFrame is unused. */
function browserWebSocketFactory(url: string): WebSocketLike {
  // The DOM typings refuse Uint8Arrays that might sit on a SharedArrayBuffer; core never makes those.
  return new WebSocket(url) as unknown as WebSocketLike;
}

const browserDialer = webSocketDialer(browserWebSocketFactory);

/** The page's RTCPeerConnection, looked up on each call, so tests may replace it. */
const browserPeerConnections: PeerConnectionFactory = (configuration) =>
  new globalThis.RTCPeerConnection(configuration);

/**
 * What connect() takes in a page: {@link ConnectOptions}, and the direct links' settings.
 *
 * @example
 * ```ts
 * const conn = await connect({ relays: ["wss://relay.example.com"], keys, webrtc: { maxLinks: 8 } });
 * ```
 */
export interface BrowserConnectOptions extends ConnectOptions {
  /**
   * Direct WebRTC links to other peers, on by default where the page has RTCPeerConnection; `false`
   * turns them off. Settings here override the defaults (ICE servers, candidate filter, cache size).
   */
  webrtc?: DirectLinkOptions | false;
}

/**
 * Connects to the network over the page's WebSocket and resolves once attached to a relay.
 *
 * @throws TypeError or RangeError at once for a malformed option (a relay that is not a ws:// or
 *   wss:// URL, a duration outside the rule); UnreachableError once every relay has failed the
 *   connection; DeniedError when a relay refuses this peer; TimeoutError after `connectTimeout`.
 * @example
 * ```ts
 * import { connect, generateKey } from "iris-mesh";
 *
 * const conn = await connect({ relays: ["wss://relay.example.com"], keys: { chat: generateKey() } });
 * await conn.subscribe("chat", (body) => show(new TextDecoder().decode(body)));
 * ```
 */
export async function connect(options: BrowserConnectOptions): Promise<Connection> {
  const { webrtc, signal, ...rest } = options;
  checkWebSocketUrls(rest.relays);
  const available = typeof globalThis.RTCPeerConnection === "function";
  const connection = new Connection({
    agent: "browser",
    dialer: browserDialer,
    ...rest,
    webrtc: webrtc === false || !available ? undefined : { peerConnection: browserPeerConnections, ...webrtc },
  });
  await connection.start(rest.connectTimeout, signal);
  return connection;
}
