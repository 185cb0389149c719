// The browser entry: the public API with the page's own WebSocket and RTCPeerConnection injected.
// Nothing reachable from this module may need Node (no `ws`, no werift, no node:*); the production
// bundle check in test/integration/browser-bundle.test.ts proves it.

import { connect as connectWith, connectWebRtc as connectWebRtcWith } from "./index.ts";
import type { DirectLinkSettings } from "./peer/direct-links.ts";
import type {
  ConnectOptions,
  Connection,
  PeerConnectionFactory,
  WebRtcAttempt,
  WebRtcOptions,
  WebSocketLike,
} from "./index.ts";
import { webSocketDialer } from "./transports/websocket.ts";

export * from "./index.ts";

/** The page's WebSocket. Browsers enforce no frame size limit on the client side, so maxFrame is unused. */
export function browserWebSocketFactory(url: string): WebSocketLike {
  // The DOM typings refuse Uint8Arrays that might sit on a SharedArrayBuffer; core never makes those.
  return new WebSocket(url) as unknown as WebSocketLike;
}

/** Dials relays with the page's WebSocket. */
export const browserDialer = webSocketDialer(browserWebSocketFactory);

/** The page's RTCPeerConnection, for connectWebRtc(). Looked up on each call, so tests may replace it. */
export const browserPeerConnections: PeerConnectionFactory = (configuration) =>
  new globalThis.RTCPeerConnection(configuration);

export type BrowserConnectOptions = Omit<ConnectOptions, "dialer" | "webrtc"> &
  Partial<Pick<ConnectOptions, "dialer">> & {
    /**
     * Direct links to other peers, on by default where the page has RTCPeerConnection; false turns
     * them off. Settings here override the defaults (ICE servers, candidate filter, cache size).
     */
    webrtc?: Partial<DirectLinkSettings> | false;
  };

/** Connects to the network over the page's WebSocket and resolves once attached to a relay. */
export function connect(options: BrowserConnectOptions): Promise<Connection> {
  const { webrtc, ...rest } = options;
  const available = typeof globalThis.RTCPeerConnection === "function";
  return connectWith({
    agent: "browser",
    dialer: browserDialer,
    ...rest,
    webrtc: webrtc === false || !available ? undefined : { peerConnection: browserPeerConnections, ...webrtc },
  });
}

export type BrowserWebRtcOptions = Omit<WebRtcOptions, "peerConnection"> &
  Partial<Pick<WebRtcOptions, "peerConnection">>;

/** Starts opening a direct link with the page's RTCPeerConnection. */
export function connectWebRtc(options: BrowserWebRtcOptions): WebRtcAttempt {
  return connectWebRtcWith({ peerConnection: browserPeerConnections, ...options });
}
