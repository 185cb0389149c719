// The Node entry: the public API with Node's WebSocket client (the `ws` package) injected.

import { connect as connectWith } from "./index.ts";
import type { ConnectOptions, Connection, PeerConnectionFactory } from "./index.ts";
import type { WeriftOptions } from "./transports/webrtc.node.ts";
import type { DirectLinkSettings } from "./peer/direct-links.ts";
import { nodeWebSocketDialer } from "./transports/websocket.node.ts";
import { tweetnaclSecretbox } from "./crypto/nacl.ts";
import type { CryptoBackend } from "./crypto/nacl.ts";
import { loadSodiumSecretbox } from "./crypto/secretbox.node.ts";
import { nodeSigning } from "./crypto/signing.node.ts";
import { zlibCompression } from "./crypto/compress.node.ts";
import { nodeScheduling } from "./util/scheduling.node.ts";

/**
 * Node's crypto: its native Ed25519 signs and verifies the same bytes as tweetnacl, much faster;
 * libsodium's secretbox (when the optional sodium-native is installed) seals the same boxes about four
 * times faster; zlib deflates and inflates the same raw DEFLATE as fflate, several times faster. Relays
 * and peers of the Node entry use it; nothing global changes.
 */
export const nodeCrypto: CryptoBackend = {
  secretbox: loadSodiumSecretbox() ?? tweetnaclSecretbox,
  signing: nodeSigning,
  compression: zlibCompression,
};
export { nodeScheduling };

export * from "./index.ts";
export { listenWebSocket, nodeWebSocketDialer, WS_FRAME_OVERHEAD } from "./transports/websocket.node.ts";
export type { WebSocketListener, WebSocketListenerOptions } from "./transports/websocket.node.ts";
export type { WeriftOptions } from "./transports/webrtc.node.ts";

/**
 * werift's peer connections for connectWebRtc(), loaded on first use: werift takes a noticeable time to
 * load, and relays and peers that never open a direct link should not pay for it.
 */
export async function weriftPeerConnections(options?: WeriftOptions): Promise<PeerConnectionFactory> {
  const { weriftPeerConnectionFactory } = await import("./transports/webrtc.node.ts");
  return weriftPeerConnectionFactory(options);
}

export type NodeConnectOptions = Omit<ConnectOptions, "dialer" | "webrtc"> &
  Partial<Pick<ConnectOptions, "dialer">> & {
    /**
     * Direct links to other peers through werift (off by default: werift takes a while to load and a
     * relay-routed Node service rarely needs them). true for the defaults, or settings, with `werift`
     * for werift's own options (host addresses to gather, addresses to keep to).
     */
    webrtc?: boolean | (Partial<DirectLinkSettings> & { werift?: WeriftOptions });
  };

/** Connects to the network over WebSocket and resolves once attached to a relay. */
export async function connect(options: NodeConnectOptions): Promise<Connection> {
  const { webrtc, ...rest } = options;
  let direct: DirectLinkSettings | undefined;
  if (webrtc) {
    const settings = webrtc === true ? {} : webrtc;
    const { werift, ...linkSettings } = settings;
    direct = { peerConnection: await weriftPeerConnections(werift), ...linkSettings };
  }
  return connectWith({
    agent: "node",
    dialer: nodeWebSocketDialer,
    crypto: nodeCrypto,
    scheduling: nodeScheduling,
    ...rest,
    webrtc: direct,
  });
}
