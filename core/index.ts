// The runtime-neutral public API. Applications import the package's node or browser entry, which inject
// a WebSocket dialer; this module serves tests and custom transports directly.

import { Connection } from "./peer/connection.ts";
import type { ConnectOptions } from "./peer/connection.ts";

export { Connection } from "./peer/connection.ts";
export type { ConnectOptions, ConnectionEvents } from "./peer/connection.ts";
export type { RegisterOptions, Registration, ServiceHandlers, Subscription } from "./peer/memberships.ts";
export type { KeyInput } from "./crypto/keyring.ts";
export type { Payload, MessageInfo } from "./peer/patterns/context.ts";
export type { RequestOptions, RequestHandler, ServiceLimits } from "./peer/patterns/request/request.ts";
export type { BroadcastHandler } from "./peer/patterns/broadcast.ts";
export type { SendOptions } from "./peer/patterns/message-batches.ts";
export type { TopicHandler } from "./peer/patterns/pubsub.ts";
export type { Tunnel, TunnelSettings } from "./peer/patterns/tunnel/tunnel.ts";
export type { TunnelOptions, TunnelHandler } from "./peer/patterns/tunnel/tunnel-table.ts";
export {
  IrisError,
  TimeoutError,
  NoMembersError,
  RemoteError,
  ClosedError,
  OverloadedError,
  TooLargeError,
  KeyError,
  ProtocolError,
  DeniedError,
} from "./errors.ts";
export type { IrisErrorCode } from "./errors.ts";
export { generateKey } from "./crypto/keys.ts";
export { Relay, RELAY_DEFAULTS } from "./relay/relay.ts";
export type { RelayOptions, RelaySnapshot, RelayLog } from "./relay/relay.ts";
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
  onlyAddresses,
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
  CandidateFilter,
  IceCandidateInfo,
  IceServer,
} from "./transports/webrtc.ts";

/** Connects to the network and resolves once attached to a relay. */
export async function connect(options: ConnectOptions): Promise<Connection> {
  const connection = new Connection(options);
  await connection.start(options.connectTimeout ?? 10_000);
  return connection;
}
