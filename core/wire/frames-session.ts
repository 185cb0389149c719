// Frames a peer and its relay exchange about the session itself: the handshakes, heartbeats, going away,
// and joining clusters and topics. None is routed; they travel one link only.

import type { Reader } from "./codec.ts";
import {
  FrameType,
  ID_BYTES,
  MAX_TEXT_BYTES,
  MAX_VARINT,
  NONCE_BYTES,
  PEER_ID_BYTES,
  PUBLIC_KEY_BYTES,
  RELAY_ID_BYTES,
  SIGNATURE_BYTES,
  endFrame,
  enumValue,
  startFrame,
  textSize,
} from "./frame-layout.ts";
import type { FrameGroup } from "./frame-layout.ts";

export const LINK_MAC_BYTES = 32;

/** What a Join proves: membership of a cluster, or the right to subscribe to a topic. */
export const JoinKind = { Member: 0, Subscriber: 1 } as const;
export type JoinKind = (typeof JoinKind)[keyof typeof JoinKind];

export const NackCode = { BadProof: 1, Limit: 2, Unknown: 3 } as const;
export type NackCode = (typeof NackCode)[keyof typeof NackCode];

export type ChallengeFrame = { type: typeof FrameType.Challenge; relayId: Uint8Array; nonce: Uint8Array };
export type HelloFrame = {
  type: typeof FrameType.Hello;
  identityKey: Uint8Array;
  signature: Uint8Array;
  agent: string;
};
export type WelcomeFrame = {
  type: typeof FrameType.Welcome;
  peerId: Uint8Array;
  relayTime: number;
  heartbeatMs: number;
  maxMessage: number;
};
export type PingFrame = { type: typeof FrameType.Ping; stamp: number };
export type PongFrame = { type: typeof FrameType.Pong; stamp: number };
export type GoAwayFrame = { type: typeof FrameType.GoAway; reason: string };
/** The network-key handshake (see transports/secure-link.ts): an ephemeral key and a MAC under the key. */
export type LinkHelloFrame = { type: typeof FrameType.LinkHello; ephemeral: Uint8Array; mac: Uint8Array };
export type LinkWelcomeFrame = { type: typeof FrameType.LinkWelcome; ephemeral: Uint8Array; mac: Uint8Array };
export type JoinFrame = {
  type: typeof FrameType.Join;
  corr: number;
  kind: JoinKind;
  nameHash: Uint8Array;
  publicKey: Uint8Array;
  signature: Uint8Array;
};
export type LeaveFrame = { type: typeof FrameType.Leave; corr: number; kind: JoinKind; id: Uint8Array };
export type AckFrame = { type: typeof FrameType.Ack; corr: number };
export type NackFrame = { type: typeof FrameType.Nack; corr: number; code: NackCode; message: string };
export type LoadFrame = { type: typeof FrameType.Load; id: Uint8Array; load: number };

export type SessionFrame =
  | ChallengeFrame
  | HelloFrame
  | WelcomeFrame
  | PingFrame
  | PongFrame
  | GoAwayFrame
  | LinkHelloFrame
  | LinkWelcomeFrame
  | JoinFrame
  | LeaveFrame
  | AckFrame
  | NackFrame
  | LoadFrame;

export const SESSION_FRAMES: FrameGroup<SessionFrame> = {
  types: [
    FrameType.Challenge,
    FrameType.Hello,
    FrameType.Welcome,
    FrameType.Ping,
    FrameType.Pong,
    FrameType.GoAway,
    FrameType.LinkHello,
    FrameType.LinkWelcome,
    FrameType.Join,
    FrameType.Leave,
    FrameType.Ack,
    FrameType.Nack,
    FrameType.Load,
  ],
  encode: (frame) => encodeSessionFrame(frame),
  decode: (type, r) => decodeSessionFrame(type, r),
};

function encodeSessionFrame(frame: SessionFrame): Uint8Array {
  switch (frame.type) {
    case FrameType.Challenge:
      return startFrame(frame.type, RELAY_ID_BYTES + NONCE_BYTES)
        .fixed(frame.relayId, RELAY_ID_BYTES)
        .fixed(frame.nonce, NONCE_BYTES)
        .finish();
    case FrameType.Hello:
      return startFrame(frame.type, PUBLIC_KEY_BYTES + SIGNATURE_BYTES + textSize(frame.agent))
        .fixed(frame.identityKey, PUBLIC_KEY_BYTES)
        .fixed(frame.signature, SIGNATURE_BYTES)
        .string(frame.agent, MAX_TEXT_BYTES)
        .finish();
    case FrameType.Welcome:
      return startFrame(frame.type, PEER_ID_BYTES + 3 * MAX_VARINT)
        .fixed(frame.peerId, PEER_ID_BYTES)
        .varint(frame.relayTime)
        .varint(frame.heartbeatMs)
        .varint(frame.maxMessage)
        .finish();
    case FrameType.Ping:
    case FrameType.Pong:
      return startFrame(frame.type, MAX_VARINT).varint(frame.stamp).finish();
    case FrameType.GoAway:
      return startFrame(frame.type, textSize(frame.reason)).string(frame.reason, MAX_TEXT_BYTES).finish();
    case FrameType.LinkHello:
    case FrameType.LinkWelcome:
      return startFrame(frame.type, PUBLIC_KEY_BYTES + LINK_MAC_BYTES)
        .fixed(frame.ephemeral, PUBLIC_KEY_BYTES)
        .fixed(frame.mac, LINK_MAC_BYTES)
        .finish();
    case FrameType.Join:
      return startFrame(frame.type, MAX_VARINT + 1 + ID_BYTES + PUBLIC_KEY_BYTES + SIGNATURE_BYTES)
        .varint(frame.corr)
        .u8(frame.kind)
        .fixed(frame.nameHash, ID_BYTES)
        .fixed(frame.publicKey, PUBLIC_KEY_BYTES)
        .fixed(frame.signature, SIGNATURE_BYTES)
        .finish();
    case FrameType.Leave:
      return startFrame(frame.type, MAX_VARINT + 1 + ID_BYTES)
        .varint(frame.corr)
        .u8(frame.kind)
        .fixed(frame.id, ID_BYTES)
        .finish();
    case FrameType.Ack:
      return startFrame(frame.type, MAX_VARINT).varint(frame.corr).finish();
    case FrameType.Nack:
      return startFrame(frame.type, MAX_VARINT + 1 + textSize(frame.message))
        .varint(frame.corr)
        .u8(frame.code)
        .string(frame.message, MAX_TEXT_BYTES)
        .finish();
    case FrameType.Load:
      return startFrame(frame.type, ID_BYTES + MAX_VARINT)
        .fixed(frame.id, ID_BYTES)
        .varint(frame.load)
        .finish();
  }
}

/** Reads the fields after the header of a session frame of `type`. */
function decodeSessionFrame(type: SessionFrame["type"], r: Reader): SessionFrame {
  switch (type) {
    case FrameType.Challenge:
      return endFrame(r, { type, relayId: r.fixed("relayId", RELAY_ID_BYTES), nonce: r.fixed("nonce", NONCE_BYTES) });
    case FrameType.Hello:
      return endFrame(r, {
        type,
        identityKey: r.fixed("identityKey", PUBLIC_KEY_BYTES),
        signature: r.fixed("signature", SIGNATURE_BYTES),
        agent: r.string("agent", MAX_TEXT_BYTES),
      });
    case FrameType.Welcome:
      return endFrame(r, {
        type,
        peerId: r.fixed("peerId", PEER_ID_BYTES),
        relayTime: r.varint("relayTime"),
        heartbeatMs: r.varint("heartbeatMs"),
        maxMessage: r.varint("maxMessage"),
      });
    case FrameType.Ping:
    case FrameType.Pong:
      return endFrame(r, { type, stamp: r.varint("stamp") });
    case FrameType.GoAway:
      return endFrame(r, { type, reason: r.string("reason", MAX_TEXT_BYTES) });
    case FrameType.LinkHello:
    case FrameType.LinkWelcome:
      return endFrame(r, {
        type,
        ephemeral: r.fixed("ephemeral", PUBLIC_KEY_BYTES),
        mac: r.fixed("mac", LINK_MAC_BYTES),
      });
    case FrameType.Join:
      return endFrame(r, {
        type,
        corr: r.varint("corr"),
        kind: joinKind(r.u8("kind")),
        nameHash: r.fixed("nameHash", ID_BYTES),
        publicKey: r.fixed("publicKey", PUBLIC_KEY_BYTES),
        signature: r.fixed("signature", SIGNATURE_BYTES),
      });
    case FrameType.Leave:
      return endFrame(r, { type, corr: r.varint("corr"), kind: joinKind(r.u8("kind")), id: r.fixed("id", ID_BYTES) });
    case FrameType.Ack:
      return endFrame(r, { type, corr: r.varint("corr") });
    case FrameType.Nack:
      return endFrame(r, {
        type,
        corr: r.varint("corr"),
        code: enumValue("nack code", r.u8("code"), NackCode),
        message: r.string("message", MAX_TEXT_BYTES),
      });
    case FrameType.Load:
      return endFrame(r, { type, id: r.fixed("id", ID_BYTES), load: r.varint("load") });
  }
}

function joinKind(value: number): JoinKind {
  return enumValue("join kind", value, JoinKind);
}
