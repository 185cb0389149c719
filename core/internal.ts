// The internal surface: what this repository's relay server, dashboard and tests use besides the
// public API (index.ts), imported by path. It is compiled into the package (the relay CLI needs it)
// but no export of package.json leads here, so applications cannot come to depend on it.

import { Connection } from "./peer/connection.ts";
import type { ConnectionSetup } from "./peer/connection-options.ts";

export * from "./index.ts";
export { Connection } from "./peer/connection.ts";
export type { ConnectionSetup } from "./peer/connection-options.ts";
export type { DirectLinkSettings } from "./peer/direct-links.ts";
export { Relay, RELAY_DEFAULTS } from "./relay/relay.ts";
export type { RelayOptions, RelayLog } from "./relay/relay.ts";
export { MemoryNetwork, memoryLinkPair } from "./transports/memory.ts";
export type { Link, LinkHandlers, Dialer, DialOptions } from "./transports/link.ts";
export { CloseCode, LinkWrapper } from "./transports/link.ts";
export { webSocketDialer } from "./transports/websocket.ts";
export type { WebSocketLike, WebSocketFactory } from "./transports/websocket.ts";
export {
  connectWebRtc,
  WebRtcAttempt,
  WEBRTC_DEFAULTS,
  DataChannelLink,
  DATA_CHANNEL_DEFAULTS,
  extractFingerprints,
  parseCandidate,
  parseSignal,
} from "./transports/webrtc.ts";
export type {
  WebRtcOptions,
  WebRtcSignal,
  PeerConnectionFactory,
  PeerConnectionLike,
  DataChannelLike,
  DataChannelLinkOptions,
} from "./transports/webrtc.ts";

/** Starts a connection with an explicit setup (dialer, clock, identity...) and resolves once attached. */
export async function connect(options: ConnectionSetup & { signal?: AbortSignal }): Promise<Connection> {
  const connection = new Connection(options);
  await connection.start(options.connectTimeout, options.signal);
  return connection;
}
