// The Node entry: the public API with Node's WebSocket client (the `ws` package) injected.

import { connect as connectWith } from "./index.ts";
import type { ConnectOptions, Connection, PeerConnectionFactory } from "./index.ts";
import type { WeriftOptions } from "./transports/webrtc.node.ts";
import { nodeWebSocketDialer } from "./transports/websocket.node.ts";
import { useSigningBackend } from "./crypto/nacl.ts";
import { nodeSigning } from "./crypto/signing.node.ts";

// Node's native Ed25519 signs and verifies the same bytes as tweetnacl, much faster.
useSigningBackend(nodeSigning);

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

export type NodeConnectOptions = Omit<ConnectOptions, "dialer"> & Partial<Pick<ConnectOptions, "dialer">>;

/** Connects to the network over WebSocket and resolves once attached to a relay. */
export function connect(options: NodeConnectOptions): Promise<Connection> {
  return connectWith({ agent: "node", dialer: nodeWebSocketDialer, ...options });
}
