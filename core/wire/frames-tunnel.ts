// Frames of a tunnel: the open that finds a member like a request does, its accept, and the stream's
// pieces, credit and close, which retrace the path the open took.

import { varintSize, writeVarintAt } from "./codec.ts";
import type { Reader, Writer } from "./codec.ts";
import {
  FrameType,
  HEADER,
  ID_BYTES,
  WIRE_VERSION,
  MAX_TEXT_BYTES,
  MAX_VARINT,
  PEER_ID_BYTES,
  endFrame,
  enumValue,
  startFrame,
  textSize,
} from "./frame-layout.ts";
import type { FrameGroup } from "./frame-layout.ts";

export const TunnelCloseCode = {
  Normal: 0,
  NoMembers: 1,
  Refused: 2,
  LinkLost: 3,
  Protocol: 4,
  Timeout: 5,
} as const;
export type TunnelCloseCode = (typeof TunnelCloseCode)[keyof typeof TunnelCloseCode];

/** Tunnel frame flag: this frame travels from the caller to the member (clear: member to caller). */
export const TUNNEL_TO_MEMBER = 0x01;

export type TunnelOpenFrame = {
  type: typeof FrameType.TunnelOpen;
  hops: number;
  flags: number;
  id: Uint8Array;
  origin: Uint8Array;
  tunnelId: number;
  window: number;
  sealed: Uint8Array;
};
export type TunnelAcceptFrame = {
  type: typeof FrameType.TunnelAccept;
  origin: Uint8Array;
  tunnelId: number;
  window: number;
  sealed: Uint8Array;
};
/**
 * A sealed piece of a tunnel's stream. `seq` numbers the pieces in each direction (and is the session
 * cipher's nonce): a tunnel may move between the relay route and a direct link, and the receiver puts
 * pieces back in order, drops repeats, and notices gaps.
 */
export type TunnelDataFrame = {
  type: typeof FrameType.TunnelData;
  flags: number;
  origin: Uint8Array;
  tunnelId: number;
  seq: number;
  sealed: Uint8Array;
};
/**
 * Flow control and acknowledgement, as running totals so a lost frame is made good by the next one:
 * `granted` bytes the sender may have sent in all, and `ack`, the next seq the receiver expects.
 */
export type TunnelCreditFrame = {
  type: typeof FrameType.TunnelCredit;
  flags: number;
  origin: Uint8Array;
  tunnelId: number;
  granted: number;
  ack: number;
};
/** Ends a tunnel; a normal close takes effect after the `sent` pieces before it have arrived. */
export type TunnelCloseFrame = {
  type: typeof FrameType.TunnelClose;
  flags: number;
  origin: Uint8Array;
  tunnelId: number;
  code: TunnelCloseCode;
  sent: number;
  reason: string;
};

/** Tunnel frames that carry (origin, tunnelId) and a direction flag: routed along the tunnel's path. */
export type TunnelPathFrame = TunnelDataFrame | TunnelCreditFrame | TunnelCloseFrame;

export type TunnelFrame = TunnelOpenFrame | TunnelAcceptFrame | TunnelPathFrame;

export const TUNNEL_FRAMES: FrameGroup<TunnelFrame> = {
  types: [
    FrameType.TunnelOpen,
    FrameType.TunnelAccept,
    FrameType.TunnelData,
    FrameType.TunnelCredit,
    FrameType.TunnelClose,
  ],
  encode: (frame) => encodeTunnelFrame(frame),
  decode: (type, r) => decodeTunnelFrame(type, r),
};

function encodeTunnelFrame(frame: TunnelFrame): Uint8Array {
  switch (frame.type) {
    case FrameType.TunnelOpen:
      return startFrame(frame.type, 2 + ID_BYTES + PEER_ID_BYTES + 2 * MAX_VARINT + frame.sealed.length)
        .u8(frame.hops)
        .u8(frame.flags)
        .fixed(frame.id, ID_BYTES)
        .fixed(frame.origin, PEER_ID_BYTES)
        .varint(frame.tunnelId)
        .varint(frame.window)
        .rest(frame.sealed)
        .finish();
    case FrameType.TunnelAccept:
      return startFrame(frame.type, PEER_ID_BYTES + 2 * MAX_VARINT + frame.sealed.length)
        .fixed(frame.origin, PEER_ID_BYTES)
        .varint(frame.tunnelId)
        .varint(frame.window)
        .rest(frame.sealed)
        .finish();
    case FrameType.TunnelData:
      return tunnelPath(frame, MAX_VARINT + frame.sealed.length)
        .varint(frame.seq)
        .rest(frame.sealed)
        .finish();
    case FrameType.TunnelCredit:
      return tunnelPath(frame, 2 * MAX_VARINT)
        .varint(frame.granted)
        .varint(frame.ack)
        .finish();
    case FrameType.TunnelClose:
      return tunnelPath(frame, 1 + MAX_VARINT + textSize(frame.reason))
        .u8(frame.code)
        .varint(frame.sent)
        .string(frame.reason, MAX_TEXT_BYTES)
        .finish();
  }
}

/** Bytes before the sealed piece of a TunnelData frame with these numbers. */
export function tunnelDataHeaderSize(tunnelId: number, seq: number): number {
  return HEADER + 1 + PEER_ID_BYTES + varintSize(tunnelId) + varintSize(seq);
}

/**
 * Writes a TunnelData frame's header into the start of `buffer` and returns where the sealed piece goes,
 * for senders that seal the piece straight into the frame.
 */
export function writeTunnelDataHeader(buffer: Uint8Array, frame: Omit<TunnelDataFrame, "type" | "sealed">): number {
  buffer[0] = WIRE_VERSION;
  buffer[1] = FrameType.TunnelData;
  buffer[2] = frame.flags;
  buffer.set(frame.origin, HEADER + 1);
  const offset = writeVarintAt(buffer, HEADER + 1 + PEER_ID_BYTES, frame.tunnelId);
  return writeVarintAt(buffer, offset, frame.seq);
}

function tunnelPath(frame: TunnelPathFrame, extra: number): Writer {
  return startFrame(frame.type, 1 + PEER_ID_BYTES + MAX_VARINT + extra)
    .u8(frame.flags)
    .fixed(frame.origin, PEER_ID_BYTES)
    .varint(frame.tunnelId);
}

/** Reads the fields after the header; frames that end in a payload have nothing left to check. */
function decodeTunnelFrame(type: TunnelFrame["type"], r: Reader): TunnelFrame {
  switch (type) {
    case FrameType.TunnelOpen:
      return {
        type,
        hops: r.u8("hops"),
        flags: r.u8("flags"),
        id: r.fixed("id", ID_BYTES),
        origin: r.fixed("origin", PEER_ID_BYTES),
        tunnelId: r.varint("tunnelId"),
        window: r.varint("window"),
        sealed: r.rest(),
      };
    case FrameType.TunnelAccept:
      return {
        type,
        origin: r.fixed("origin", PEER_ID_BYTES),
        tunnelId: r.varint("tunnelId"),
        window: r.varint("window"),
        sealed: r.rest(),
      };
    case FrameType.TunnelData:
      return {
        type,
        flags: r.u8("flags"),
        origin: r.fixed("origin", PEER_ID_BYTES),
        tunnelId: r.varint("tunnelId"),
        seq: r.varint("seq"),
        sealed: r.rest(),
      };
    case FrameType.TunnelCredit:
      return endFrame(r, {
        type,
        flags: r.u8("flags"),
        origin: r.fixed("origin", PEER_ID_BYTES),
        tunnelId: r.varint("tunnelId"),
        granted: r.varint("granted"),
        ack: r.varint("ack"),
      });
    case FrameType.TunnelClose:
      return endFrame(r, {
        type,
        flags: r.u8("flags"),
        origin: r.fixed("origin", PEER_ID_BYTES),
        tunnelId: r.varint("tunnelId"),
        code: enumValue("tunnel close code", r.u8("code"), TunnelCloseCode),
        sent: r.varint("sent"),
        reason: r.string("reason", MAX_TEXT_BYTES),
      });
  }
}
