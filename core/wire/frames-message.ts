// Frames that carry a service's messages through the overlay: requests and their replies, broadcasts to
// a cluster and publishes to a topic. Relays route them on their headers and never open the payload.

import { varintSize, writeVarintAt } from "./codec.ts";
import type { Reader } from "./codec.ts";
import {
  FrameType,
  HEADER,
  ID_BYTES,
  MAX_VARINT,
  PEER_ID_BYTES,
  WIRE_VERSION,
  enumValue,
  startFrame,
} from "./frame-layout.ts";
import type { FrameGroup } from "./frame-layout.ts";

/** Status of a Reply. Ok and Remote carry sealed bodies; the others carry plain explanatory text. */
export const ReplyStatus = {
  Ok: 0,
  Remote: 1,
  Overloaded: 2,
  NoMembers: 3,
  MemberLost: 4,
  Rejected: 5,
} as const;
export type ReplyStatus = (typeof ReplyStatus)[keyof typeof ReplyStatus];

/** Request flag set by a relay when it re-sends a request to another member after the first one died. */
export const REQUEST_RETRIED = 0x01;

export type RequestFrame = {
  type: typeof FrameType.Request;
  hops: number;
  flags: number;
  id: Uint8Array;
  origin: Uint8Array;
  reqId: number;
  timeoutMs: number;
  sealed: Uint8Array;
};
export type ReplyFrame = {
  type: typeof FrameType.Reply;
  status: ReplyStatus;
  origin: Uint8Array;
  reqId: number;
  body: Uint8Array;
};
export type BroadcastFrame = {
  type: typeof FrameType.Broadcast;
  hops: number;
  id: Uint8Array;
  origin: Uint8Array;
  sealed: Uint8Array;
};
export type PublishFrame = {
  type: typeof FrameType.Publish;
  hops: number;
  id: Uint8Array;
  origin: Uint8Array;
  sealed: Uint8Array;
};

export type MessageFrame = RequestFrame | ReplyFrame | BroadcastFrame | PublishFrame;

/** Bytes before the sealed payload of a Request frame with these numbers. */
export function requestHeaderSize(reqId: number, timeoutMs: number): number {
  return HEADER + 2 + ID_BYTES + PEER_ID_BYTES + varintSize(reqId) + varintSize(timeoutMs);
}

/**
 * Writes a Request frame's header into the start of `buffer` and returns where the sealed payload goes.
 * For callers that seal straight into the frame instead of encoding it whole.
 */
export function writeRequestHeader(buffer: Uint8Array, frame: Omit<RequestFrame, "type" | "sealed">): number {
  buffer[0] = WIRE_VERSION;
  buffer[1] = FrameType.Request;
  buffer[2] = frame.hops;
  buffer[3] = frame.flags;
  buffer.set(frame.id, HEADER + 2);
  buffer.set(frame.origin, HEADER + 2 + ID_BYTES);
  const offset = writeVarintAt(buffer, HEADER + 2 + ID_BYTES + PEER_ID_BYTES, frame.reqId);
  return writeVarintAt(buffer, offset, frame.timeoutMs);
}

/** Bytes before the body of a Reply frame for this request number. */
export function replyHeaderSize(reqId: number): number {
  return HEADER + 1 + PEER_ID_BYTES + varintSize(reqId);
}

/** Writes a Reply frame's header into the start of `buffer` and returns where the body goes. */
export function writeReplyHeader(buffer: Uint8Array, frame: Omit<ReplyFrame, "type" | "body">): number {
  buffer[0] = WIRE_VERSION;
  buffer[1] = FrameType.Reply;
  buffer[2] = frame.status;
  buffer.set(frame.origin, HEADER + 1);
  return writeVarintAt(buffer, HEADER + 1 + PEER_ID_BYTES, frame.reqId);
}

/** Bytes before the sealed payload of a Broadcast or Publish frame. */
export const MULTICAST_HEADER_BYTES = HEADER + 1 + ID_BYTES + PEER_ID_BYTES;

/**
 * Writes a Broadcast or Publish frame's header into the start of `buffer`; the sealed payload follows at
 * MULTICAST_HEADER_BYTES. For senders that seal straight into the frame instead of encoding it whole.
 */
export function writeMulticastHeader(buffer: Uint8Array, frame: Omit<BroadcastFrame | PublishFrame, "sealed">): void {
  buffer[0] = WIRE_VERSION;
  buffer[1] = frame.type;
  buffer[2] = frame.hops;
  buffer.set(frame.id, HEADER + 1);
  buffer.set(frame.origin, HEADER + 1 + ID_BYTES);
}

export const MESSAGE_FRAMES: FrameGroup<MessageFrame> = {
  types: [FrameType.Request, FrameType.Reply, FrameType.Broadcast, FrameType.Publish],
  encode: (frame) => encodeMessageFrame(frame),
  decode: (type, r) => decodeMessageFrame(type, r),
};

function encodeMessageFrame(frame: MessageFrame): Uint8Array {
  switch (frame.type) {
    case FrameType.Request:
      return startFrame(frame.type, 2 + ID_BYTES + PEER_ID_BYTES + 2 * MAX_VARINT + frame.sealed.length)
        .u8(frame.hops)
        .u8(frame.flags)
        .fixed(frame.id, ID_BYTES)
        .fixed(frame.origin, PEER_ID_BYTES)
        .varint(frame.reqId)
        .varint(frame.timeoutMs)
        .rest(frame.sealed)
        .finish();
    case FrameType.Reply:
      return startFrame(frame.type, 1 + PEER_ID_BYTES + MAX_VARINT + frame.body.length)
        .u8(frame.status)
        .fixed(frame.origin, PEER_ID_BYTES)
        .varint(frame.reqId)
        .rest(frame.body)
        .finish();
    case FrameType.Broadcast:
    case FrameType.Publish:
      return startFrame(frame.type, 1 + ID_BYTES + PEER_ID_BYTES + frame.sealed.length)
        .u8(frame.hops)
        .fixed(frame.id, ID_BYTES)
        .fixed(frame.origin, PEER_ID_BYTES)
        .rest(frame.sealed)
        .finish();
  }
}

/** Reads the fields after the header. Each of these frames ends in its payload, so nothing can trail. */
function decodeMessageFrame(type: MessageFrame["type"], r: Reader): MessageFrame {
  switch (type) {
    case FrameType.Request:
      return {
        type,
        hops: r.u8("hops"),
        flags: r.u8("flags"),
        id: r.fixed("id", ID_BYTES),
        origin: r.fixed("origin", PEER_ID_BYTES),
        reqId: r.varint("reqId"),
        timeoutMs: r.varint("timeoutMs"),
        sealed: r.rest(),
      };
    case FrameType.Reply:
      return {
        type,
        status: enumValue("reply status", r.u8("status"), ReplyStatus),
        origin: r.fixed("origin", PEER_ID_BYTES),
        reqId: r.varint("reqId"),
        body: r.rest(),
      };
    case FrameType.Broadcast:
    case FrameType.Publish:
      return {
        type,
        hops: r.u8("hops"),
        id: r.fixed("id", ID_BYTES),
        origin: r.fixed("origin", PEER_ID_BYTES),
        sealed: r.rest(),
      };
  }
}
