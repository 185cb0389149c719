// The public surface both runtime entries share (node.ts and browser.ts add connect() with their
// WebSocket and RTCPeerConnection): the types an application writes against, the errors it catches,
// and the helpers it calls. Everything else (the relay engine, transports, WebRTC plumbing, test
// networks) is reached through internal.ts, by this repository's relay server and tests only.

export type { Connection } from "./peer/connection.ts";
export type { ConnectOptions, ConnectionEvents } from "./peer/connection-options.ts";
export type { DirectLinkOptions } from "./peer/direct-links.ts";
export type { InspectOptions } from "./peer/inspector.ts";
export type {
  RegisterOptions,
  Registration,
  ServiceHandlers,
  SubscribeOptions,
  Subscription,
} from "./peer/memberships.ts";
export type { KeyInput } from "./crypto/keyring.ts";
export type { Payload, MessageInfo } from "./peer/patterns/context.ts";
export type { RequestOptions, RequestHandler, ServiceLimits } from "./peer/patterns/request/request.ts";
export type { BroadcastHandler } from "./peer/patterns/broadcast.ts";
export type { SendOptions } from "./peer/patterns/message-batches.ts";
export type { TopicHandler } from "./peer/patterns/pubsub.ts";
export type { Tunnel, TunnelEvents, TunnelRole, TunnelRoute, TunnelSettings } from "./peer/patterns/tunnel/tunnel.ts";
export type { TunnelOptions, TunnelHandler } from "./peer/patterns/tunnel/tunnel-table.ts";
export type { RelaySnapshot, RelayStatsReport } from "./wire/relay-report.ts";
export type { CandidateFilter, IceCandidateInfo } from "./transports/webrtc-signals.ts";
export type { IceServer } from "./transports/webrtc.ts";
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
  UnreachableError,
  AlreadyRegisteredError,
} from "./errors.ts";
export type { IrisErrorCode, RelayFailure } from "./errors.ts";
export { generateKey } from "./crypto/keys.ts";
export { onlyAddresses } from "./transports/webrtc-signals.ts";
export { MAX_DURATION } from "./util/duration.ts";
export type { Listener } from "./util/events.ts";
