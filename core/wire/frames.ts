// The frame catalogue spoken on every link. A frame is [wire version u8][type u8][fields...]; fields are
// fixed-width ids, unsigned varints, length-prefixed strings and, last, an unprefixed payload.
//
// Routed frames (requests, replies, broadcasts, publishes, tunnels) carry in their header everything a
// relay needs to route them, so a relay reads the header and forwards the very bytes it received:
// the sealed payload is never decoded, re-encoded or copied on the way.
//
// Each group of frames has its codec in a file of its own (frames-session.ts, frames-message.ts,
// frames-tunnel.ts, frames-overlay.ts); this file is where the rest of the code finds them all.

import { Reader, WireError } from "./codec.ts";
import type { FrameType } from "./frame-layout.ts";
import { HEADER, WIRE_VERSION } from "./frame-layout.ts";
import type { FrameGroup } from "./frame-layout.ts";
import { MESSAGE_FRAMES } from "./frames-message.ts";
import type { MessageFrame } from "./frames-message.ts";
import { OVERLAY_FRAMES } from "./frames-overlay.ts";
import type { OverlayFrame } from "./frames-overlay.ts";
import { SESSION_FRAMES } from "./frames-session.ts";
import type { SessionFrame } from "./frames-session.ts";
import { TUNNEL_FRAMES } from "./frames-tunnel.ts";
import type { TunnelFrame } from "./frames-tunnel.ts";

export {
  FRAME_HEADROOM,
  FrameType,
  HOPS_OFFSET,
  ID_BYTES,
  MAX_HOPS,
  MAX_TEXT_BYTES,
  NONCE_BYTES,
  PEER_ID_BYTES,
  PUBLIC_KEY_BYTES,
  RELAY_ID_BYTES,
  REQUEST_FLAGS_OFFSET,
  ROUTE_BACK,
  ROUTE_DOWN,
  ROUTE_FLAGS_OFFSET,
  SIGNATURE_BYTES,
  WIRE_VERSION,
  frameName,
} from "./frame-layout.ts";
export { JoinKind, LINK_MAC_BYTES, NackCode } from "./frames-session.ts";
export type {
  AckFrame,
  ChallengeFrame,
  GoAwayFrame,
  HelloFrame,
  JoinFrame,
  LeaveFrame,
  LinkHelloFrame,
  LinkWelcomeFrame,
  LoadFrame,
  NackFrame,
  PingFrame,
  PongFrame,
  WelcomeFrame,
} from "./frames-session.ts";
export {
  MULTICAST_HEADER_BYTES,
  REQUEST_RETRIED,
  ReplyStatus,
  replyHeaderSize,
  requestHeaderSize,
  writeMulticastHeader,
  writeReplyHeader,
  writeRequestHeader,
} from "./frames-message.ts";
export type { BroadcastFrame, PublishFrame, ReplyFrame, RequestFrame } from "./frames-message.ts";
export { TUNNEL_TO_MEMBER, TunnelCloseCode, tunnelDataHeaderSize, writeTunnelDataHeader } from "./frames-tunnel.ts";
export type {
  TunnelAcceptFrame,
  TunnelCloseFrame,
  TunnelCreditFrame,
  TunnelDataFrame,
  TunnelOpenFrame,
  TunnelPathFrame,
} from "./frames-tunnel.ts";
export { MAX_ADDRESS_BYTES, MAX_RELAYS_LISTED, MAX_REPORT_BYTES, RELAY_HELLO_NEEDED } from "./frames-overlay.ts";
export type {
  DrainingFrame,
  InspectFrame,
  InspectReplyFrame,
  ProbeFrame,
  ProbeReplyFrame,
  RelayEntry,
  RelayHelloFrame,
  RelayWelcomeFrame,
  RelaysFrame,
  TreeUpdateFrame,
} from "./frames-overlay.ts";

export type Frame = SessionFrame | MessageFrame | TunnelFrame | OverlayFrame;

/**
 * The group that owns each type code. Each group is stored under the codes it owns only, so the cast
 * to the union's group is sound: a frame always reaches the codec of its own type.
 */
const GROUP_OF: Array<FrameGroup<Frame> | undefined> = [];
for (const group of [SESSION_FRAMES, MESSAGE_FRAMES, TUNNEL_FRAMES, OVERLAY_FRAMES] as FrameGroup<Frame>[]) {
  for (const type of group.types) {
    if (GROUP_OF[type]) throw new Error(`frame type 0x${type.toString(16)} is claimed by two groups`);
    GROUP_OF[type] = group;
  }
}

/** Encodes any frame. Payload-carrying frames copy their payload once, into the frame. */
export function encodeFrame(frame: Frame): Uint8Array {
  const group = GROUP_OF[frame.type];
  if (!group) throw new TypeError(`frame type ${frame.type} has no codec`);
  return group.encode(frame);
}

/**
 * Decodes one frame. Byte fields are views into `bytes` (no copies), so a relay can read a header and
 * forward `bytes` itself. Throws WireError on anything truncated, oversized, malformed or unknown.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  const r = new Reader(bytes);
  const version = r.u8("version");
  if (version !== WIRE_VERSION) {
    throw new WireError("version", `wire version ${version} is not supported (this end speaks ${WIRE_VERSION})`);
  }
  const type = r.u8("type");
  const group = GROUP_OF[type];
  if (!group) throw new WireError("unknown-type", `frame type 0x${type.toString(16).padStart(2, "0")}`);
  return group.decode(type as FrameType, r);
}

/** Whether a type code names a frame of the catalogue. */
export function isFrameType(type: number): type is FrameType {
  return GROUP_OF[type] !== undefined;
}

/** Reads only the frame type; used where a hot path must not decode more than it routes on. */
export function peekFrameType(bytes: Uint8Array): number {
  if (bytes.length < HEADER) throw new WireError("truncated", "frame shorter than its header");
  if (bytes[0] !== WIRE_VERSION) {
    throw new WireError("version", `wire version ${bytes[0]} is not supported (this end speaks ${WIRE_VERSION})`);
  }
  return bytes[1]!;
}
