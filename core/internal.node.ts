// The internal surface in Node: internal.ts, Node's crypto and scheduling backends, and the Node-only
// transports the relay server and the tests use.

export * from "./internal.ts";
export { nodeCrypto, nodeScheduling } from "./node.ts";
export { weriftPeerConnections } from "./transports/werift-loader.node.ts";
export { listenWebSocket, nodeWebSocketDialer, WS_FRAME_OVERHEAD } from "./transports/websocket.node.ts";
export type { WebSocketListener, WebSocketListenerOptions } from "./transports/websocket.node.ts";
