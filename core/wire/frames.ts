// The frame catalogue spoken on every link. A frame is [wire version u8][type u8][fields...]; fields are
// fixed-width ids, unsigned varints, length-prefixed strings and, last, an unprefixed payload.
//
// Routed frames (requests, replies, broadcasts, publishes, tunnels) carry in their header everything a
// relay needs to route them, so a relay reads the header and forwards the very bytes it received:
// the sealed payload is never decoded, re-encoded or copied on the way.

import { Reader, Writer, WireError, varintSize } from "./codec.ts";

export const WIRE_VERSION = 1;

export const ID_BYTES = 32; // cluster and topic ids: a hash of (kind, name hash, membership public key)
export const PEER_ID_BYTES = 16;
export const RELAY_ID_BYTES = 16;
export const NONCE_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const LINK_MAC_BYTES = 32;
export const MAX_TEXT_BYTES = 1024;
/** Relay addresses are URLs; a Relays frame lists at most this many. */
export const MAX_ADDRESS_BYTES = 512;
export const MAX_RELAYS_LISTED = 256;
/** An inspection report is JSON, capped so it fits a frame comfortably. */
export const MAX_REPORT_BYTES = 256 * 1024;
/** Room for routing headers on top of the largest message body and its seal. */
export const FRAME_HEADROOM = 256;

export const FrameType = {
  Challenge: 0x01,
  Hello: 0x02,
  Welcome: 0x03,
  Ping: 0x04,
  Pong: 0x05,
  GoAway: 0x06,
  LinkHello: 0x07,
  LinkWelcome: 0x08,
  Join: 0x10,
  Leave: 0x11,
  Ack: 0x12,
  Nack: 0x13,
  Load: 0x14,
  Request: 0x20,
  Reply: 0x21,
  Broadcast: 0x22,
  Publish: 0x23,
  TunnelOpen: 0x30,
  TunnelAccept: 0x31,
  TunnelData: 0x32,
  TunnelCredit: 0x33,
  TunnelClose: 0x34,
  RelayHello: 0x50,
  RelayWelcome: 0x51,
  Relays: 0x52,
  TreeUpdate: 0x53,
  Probe: 0x54,
  ProbeReply: 0x55,
  Inspect: 0x56,
  InspectReply: 0x57,
  Draining: 0x58,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** What a Join proves: membership of a cluster, or the right to subscribe to a topic. */
export const JoinKind = { Member: 0, Subscriber: 1 } as const;
export type JoinKind = (typeof JoinKind)[keyof typeof JoinKind];

export const NackCode = { BadProof: 1, Limit: 2, Unknown: 3 } as const;
export type NackCode = (typeof NackCode)[keyof typeof NackCode];

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

export const TunnelCloseCode = {
  Normal: 0,
  NoMembers: 1,
  Refused: 2,
  LinkLost: 3,
  Protocol: 4,
  Timeout: 5,
} as const;
export type TunnelCloseCode = (typeof TunnelCloseCode)[keyof typeof TunnelCloseCode];

/** Request flag set by a relay when it re-sends a request to another member after the first one died. */
export const REQUEST_RETRIED = 0x01;
/**
 * Frames routed through the overlay (requests, broadcasts, publishes, tunnel opens, probes, inspections)
 * carry a hop budget at this offset; each relay lowers it in place, before forwarding, and drops a frame
 * that has none left, so no routing mistake can keep a frame circling.
 */
export const HOPS_OFFSET = 2;
export const MAX_HOPS = 64;
/**
 * Requests and tunnel opens carry routing flags at this offset, which each relay sets in place before
 * forwarding: RETRIED once a relay has placed it again after a failure; DOWN when a relay sends it
 * down a tree (toward members) rather than up toward the root; BACK when a relay sends it back up
 * because nothing below could take it.
 */
export const ROUTE_FLAGS_OFFSET = 3;
export const REQUEST_FLAGS_OFFSET = ROUTE_FLAGS_OFFSET;
export const ROUTE_DOWN = 0x02;
export const ROUTE_BACK = 0x04;
/** Tunnel frame flag: this frame travels from the caller to the member (clear: member to caller). */
export const TUNNEL_TO_MEMBER = 0x01;

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

/**
 * After the hello, a dialing relay names the address it listens on and challenges the other side. The
 * NEEDED flag says the dialer has no other link into the part of the id space the other relay is in.
 */
export type RelayHelloFrame = { type: typeof FrameType.RelayHello; flags: number; address: string; nonce: Uint8Array };
export const RELAY_HELLO_NEEDED = 0x01;
/** The accepting relay's answer: its address and identity, proven by signing the dialer's nonce. */
export type RelayWelcomeFrame = {
  type: typeof FrameType.RelayWelcome;
  address: string;
  identityKey: Uint8Array;
  signature: Uint8Array;
};
export interface RelayEntry {
  id: Uint8Array;
  address: string;
  /** Milliseconds since some relay last had a live link to it. */
  age: number;
}
/** Relays the sender knows, for the overlay's directory and for peers to fail over to. */
export type RelaysFrame = { type: typeof FrameType.Relays; relays: RelayEntry[] };
/** A child's aggregate for one tree: how many members or subscribers below it, and their weight. */
export type TreeUpdateFrame = { type: typeof FrameType.TreeUpdate; id: Uint8Array; count: number; weight: number };
/** Routed toward `target`'s key; the relay closest to it answers with the hops it took. */
export type ProbeFrame = {
  type: typeof FrameType.Probe;
  hops: number;
  probeId: number;
  origin: Uint8Array;
  target: Uint8Array;
};
export type ProbeReplyFrame = {
  type: typeof FrameType.ProbeReply;
  hops: number;
  probeId: number;
  origin: Uint8Array;
  responder: Uint8Array;
  /** Hops the probe took to reach the responder. */
  probeHops: number;
};
/** Asks relay `target` (all zeros: the first relay) for its report; answered toward relay `origin`. */
export type InspectFrame = {
  type: typeof FrameType.Inspect;
  hops: number;
  corr: number;
  origin: Uint8Array;
  target: Uint8Array;
};
export type InspectReplyFrame = {
  type: typeof FrameType.InspectReply;
  hops: number;
  corr: number;
  origin: Uint8Array;
  report: string;
};
/** A relay that is shutting down: route nothing new through it. */
export type DrainingFrame = { type: typeof FrameType.Draining };

export type Frame =
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
  | LoadFrame
  | RequestFrame
  | ReplyFrame
  | BroadcastFrame
  | PublishFrame
  | TunnelOpenFrame
  | TunnelAcceptFrame
  | TunnelDataFrame
  | TunnelCreditFrame
  | TunnelCloseFrame
  | RelayHelloFrame
  | RelayWelcomeFrame
  | RelaysFrame
  | TreeUpdateFrame
  | ProbeFrame
  | ProbeReplyFrame
  | InspectFrame
  | InspectReplyFrame
  | DrainingFrame;

/** Tunnel frames that carry (origin, tunnelId) and a direction flag: routed along the tunnel's path. */
export type TunnelPathFrame = TunnelDataFrame | TunnelCreditFrame | TunnelCloseFrame;

const HEADER = 2;
const MAX_VARINT = 8;

/** Encodes any frame. Payload-carrying frames copy their payload once, into the frame. */
export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case FrameType.Challenge:
      return start(frame.type, RELAY_ID_BYTES + NONCE_BYTES)
        .fixed(frame.relayId, RELAY_ID_BYTES)
        .fixed(frame.nonce, NONCE_BYTES)
        .finish();
    case FrameType.Hello:
      return start(frame.type, PUBLIC_KEY_BYTES + SIGNATURE_BYTES + textSize(frame.agent))
        .fixed(frame.identityKey, PUBLIC_KEY_BYTES)
        .fixed(frame.signature, SIGNATURE_BYTES)
        .string(frame.agent, MAX_TEXT_BYTES)
        .finish();
    case FrameType.Welcome:
      return start(frame.type, PEER_ID_BYTES + 3 * MAX_VARINT)
        .fixed(frame.peerId, PEER_ID_BYTES)
        .varint(frame.relayTime)
        .varint(frame.heartbeatMs)
        .varint(frame.maxMessage)
        .finish();
    case FrameType.Ping:
    case FrameType.Pong:
      return start(frame.type, MAX_VARINT).varint(frame.stamp).finish();
    case FrameType.GoAway:
      return start(frame.type, textSize(frame.reason)).string(frame.reason, MAX_TEXT_BYTES).finish();
    case FrameType.LinkHello:
    case FrameType.LinkWelcome:
      return start(frame.type, PUBLIC_KEY_BYTES + LINK_MAC_BYTES)
        .fixed(frame.ephemeral, PUBLIC_KEY_BYTES)
        .fixed(frame.mac, LINK_MAC_BYTES)
        .finish();
    case FrameType.Join:
      return start(frame.type, MAX_VARINT + 1 + ID_BYTES + PUBLIC_KEY_BYTES + SIGNATURE_BYTES)
        .varint(frame.corr)
        .u8(frame.kind)
        .fixed(frame.nameHash, ID_BYTES)
        .fixed(frame.publicKey, PUBLIC_KEY_BYTES)
        .fixed(frame.signature, SIGNATURE_BYTES)
        .finish();
    case FrameType.Leave:
      return start(frame.type, MAX_VARINT + 1 + ID_BYTES)
        .varint(frame.corr)
        .u8(frame.kind)
        .fixed(frame.id, ID_BYTES)
        .finish();
    case FrameType.Ack:
      return start(frame.type, MAX_VARINT).varint(frame.corr).finish();
    case FrameType.Nack:
      return start(frame.type, MAX_VARINT + 1 + textSize(frame.message))
        .varint(frame.corr)
        .u8(frame.code)
        .string(frame.message, MAX_TEXT_BYTES)
        .finish();
    case FrameType.Load:
      return start(frame.type, ID_BYTES + MAX_VARINT).fixed(frame.id, ID_BYTES).varint(frame.load).finish();
    case FrameType.Request:
      return start(frame.type, 2 + ID_BYTES + PEER_ID_BYTES + 2 * MAX_VARINT + frame.sealed.length)
        .u8(frame.hops)
        .u8(frame.flags)
        .fixed(frame.id, ID_BYTES)
        .fixed(frame.origin, PEER_ID_BYTES)
        .varint(frame.reqId)
        .varint(frame.timeoutMs)
        .rest(frame.sealed)
        .finish();
    case FrameType.Reply:
      return start(frame.type, 1 + PEER_ID_BYTES + MAX_VARINT + frame.body.length)
        .u8(frame.status)
        .fixed(frame.origin, PEER_ID_BYTES)
        .varint(frame.reqId)
        .rest(frame.body)
        .finish();
    case FrameType.Broadcast:
    case FrameType.Publish:
      return start(frame.type, 1 + ID_BYTES + PEER_ID_BYTES + frame.sealed.length)
        .u8(frame.hops)
        .fixed(frame.id, ID_BYTES)
        .fixed(frame.origin, PEER_ID_BYTES)
        .rest(frame.sealed)
        .finish();
    case FrameType.TunnelOpen:
      return start(frame.type, 2 + ID_BYTES + PEER_ID_BYTES + 2 * MAX_VARINT + frame.sealed.length)
        .u8(frame.hops)
        .u8(frame.flags)
        .fixed(frame.id, ID_BYTES)
        .fixed(frame.origin, PEER_ID_BYTES)
        .varint(frame.tunnelId)
        .varint(frame.window)
        .rest(frame.sealed)
        .finish();
    case FrameType.TunnelAccept:
      return start(frame.type, PEER_ID_BYTES + 2 * MAX_VARINT + frame.sealed.length)
        .fixed(frame.origin, PEER_ID_BYTES)
        .varint(frame.tunnelId)
        .varint(frame.window)
        .rest(frame.sealed)
        .finish();
    case FrameType.TunnelData:
      return tunnelPath(frame, MAX_VARINT + frame.sealed.length).varint(frame.seq).rest(frame.sealed).finish();
    case FrameType.TunnelCredit:
      return tunnelPath(frame, 2 * MAX_VARINT).varint(frame.granted).varint(frame.ack).finish();
    case FrameType.TunnelClose:
      return tunnelPath(frame, 1 + MAX_VARINT + textSize(frame.reason))
        .u8(frame.code)
        .varint(frame.sent)
        .string(frame.reason, MAX_TEXT_BYTES)
        .finish();
    case FrameType.RelayHello:
      return start(frame.type, 1 + textSize(frame.address) + NONCE_BYTES)
        .u8(frame.flags)
        .string(frame.address, MAX_ADDRESS_BYTES)
        .fixed(frame.nonce, NONCE_BYTES)
        .finish();
    case FrameType.RelayWelcome:
      return start(frame.type, textSize(frame.address) + PUBLIC_KEY_BYTES + SIGNATURE_BYTES)
        .string(frame.address, MAX_ADDRESS_BYTES)
        .fixed(frame.identityKey, PUBLIC_KEY_BYTES)
        .fixed(frame.signature, SIGNATURE_BYTES)
        .finish();
    case FrameType.Relays: {
      let bound = MAX_VARINT;
      for (const relay of frame.relays) bound += RELAY_ID_BYTES + textSize(relay.address) + MAX_VARINT;
      const w = start(frame.type, bound).varint(frame.relays.length);
      for (const relay of frame.relays) {
        w.fixed(relay.id, RELAY_ID_BYTES).string(relay.address, MAX_ADDRESS_BYTES).varint(relay.age);
      }
      return w.finish();
    }
    case FrameType.TreeUpdate:
      return start(frame.type, ID_BYTES + 2 * MAX_VARINT)
        .fixed(frame.id, ID_BYTES)
        .varint(frame.count)
        .varint(frame.weight)
        .finish();
    case FrameType.Probe:
      return start(frame.type, 1 + MAX_VARINT + 2 * RELAY_ID_BYTES)
        .u8(frame.hops)
        .varint(frame.probeId)
        .fixed(frame.origin, RELAY_ID_BYTES)
        .fixed(frame.target, RELAY_ID_BYTES)
        .finish();
    case FrameType.ProbeReply:
      return start(frame.type, 2 + MAX_VARINT + 2 * RELAY_ID_BYTES)
        .u8(frame.hops)
        .varint(frame.probeId)
        .fixed(frame.origin, RELAY_ID_BYTES)
        .fixed(frame.responder, RELAY_ID_BYTES)
        .u8(frame.probeHops)
        .finish();
    case FrameType.Inspect:
      return start(frame.type, 1 + MAX_VARINT + 2 * RELAY_ID_BYTES)
        .u8(frame.hops)
        .varint(frame.corr)
        .fixed(frame.origin, RELAY_ID_BYTES)
        .fixed(frame.target, RELAY_ID_BYTES)
        .finish();
    case FrameType.InspectReply:
      return start(frame.type, 1 + MAX_VARINT + RELAY_ID_BYTES + textSize(frame.report))
        .u8(frame.hops)
        .varint(frame.corr)
        .fixed(frame.origin, RELAY_ID_BYTES)
        .string(frame.report, MAX_REPORT_BYTES)
        .finish();
    case FrameType.Draining:
      return start(frame.type, 0).finish();
  }
}

function start(type: FrameType, bodyBound: number): Writer {
  return new Writer(HEADER + bodyBound).u8(WIRE_VERSION).u8(type);
}

function tunnelPath(frame: TunnelPathFrame, extra: number): Writer {
  return start(frame.type, 1 + PEER_ID_BYTES + MAX_VARINT + extra)
    .u8(frame.flags)
    .fixed(frame.origin, PEER_ID_BYTES)
    .varint(frame.tunnelId);
}

function textSize(text: string): number {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  const bound = text.length * 3;
  return varintSize(bound) + bound;
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
  let frame: Frame;
  switch (type) {
    case FrameType.Challenge:
      frame = { type, relayId: r.fixed("relayId", RELAY_ID_BYTES), nonce: r.fixed("nonce", NONCE_BYTES) };
      break;
    case FrameType.Hello:
      frame = {
        type,
        identityKey: r.fixed("identityKey", PUBLIC_KEY_BYTES),
        signature: r.fixed("signature", SIGNATURE_BYTES),
        agent: r.string("agent", MAX_TEXT_BYTES),
      };
      break;
    case FrameType.Welcome:
      frame = {
        type,
        peerId: r.fixed("peerId", PEER_ID_BYTES),
        relayTime: r.varint("relayTime"),
        heartbeatMs: r.varint("heartbeatMs"),
        maxMessage: r.varint("maxMessage"),
      };
      break;
    case FrameType.Ping:
    case FrameType.Pong:
      frame = { type, stamp: r.varint("stamp") };
      break;
    case FrameType.GoAway:
      frame = { type, reason: r.string("reason", MAX_TEXT_BYTES) };
      break;
    case FrameType.LinkHello:
    case FrameType.LinkWelcome:
      frame = { type, ephemeral: r.fixed("ephemeral", PUBLIC_KEY_BYTES), mac: r.fixed("mac", LINK_MAC_BYTES) };
      break;
    case FrameType.Join:
      frame = {
        type,
        corr: r.varint("corr"),
        kind: joinKind(r.u8("kind")),
        nameHash: r.fixed("nameHash", ID_BYTES),
        publicKey: r.fixed("publicKey", PUBLIC_KEY_BYTES),
        signature: r.fixed("signature", SIGNATURE_BYTES),
      };
      break;
    case FrameType.Leave:
      frame = { type, corr: r.varint("corr"), kind: joinKind(r.u8("kind")), id: r.fixed("id", ID_BYTES) };
      break;
    case FrameType.Ack:
      frame = { type, corr: r.varint("corr") };
      break;
    case FrameType.Nack:
      frame = {
        type,
        corr: r.varint("corr"),
        code: enumValue("nack code", r.u8("code"), NackCode),
        message: r.string("message", MAX_TEXT_BYTES),
      };
      break;
    case FrameType.Load:
      frame = { type, id: r.fixed("id", ID_BYTES), load: r.varint("load") };
      break;
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
      frame = {
        type,
        flags: r.u8("flags"),
        origin: r.fixed("origin", PEER_ID_BYTES),
        tunnelId: r.varint("tunnelId"),
        granted: r.varint("granted"),
        ack: r.varint("ack"),
      };
      break;
    case FrameType.TunnelClose:
      frame = {
        type,
        flags: r.u8("flags"),
        origin: r.fixed("origin", PEER_ID_BYTES),
        tunnelId: r.varint("tunnelId"),
        code: enumValue("tunnel close code", r.u8("code"), TunnelCloseCode),
        sent: r.varint("sent"),
        reason: r.string("reason", MAX_TEXT_BYTES),
      };
      break;
    case FrameType.RelayHello:
      frame = {
        type,
        flags: r.u8("flags"),
        address: r.string("address", MAX_ADDRESS_BYTES),
        nonce: r.fixed("nonce", NONCE_BYTES),
      };
      break;
    case FrameType.RelayWelcome:
      frame = {
        type,
        address: r.string("address", MAX_ADDRESS_BYTES),
        identityKey: r.fixed("identityKey", PUBLIC_KEY_BYTES),
        signature: r.fixed("signature", SIGNATURE_BYTES),
      };
      break;
    case FrameType.Relays: {
      const count = r.varint("relay count", MAX_RELAYS_LISTED);
      const relays: RelayEntry[] = [];
      for (let i = 0; i < count; i++) {
        relays.push({
          id: r.fixed("relay id", RELAY_ID_BYTES),
          address: r.string("relay address", MAX_ADDRESS_BYTES),
          age: r.varint("relay age"),
        });
      }
      frame = { type, relays };
      break;
    }
    case FrameType.TreeUpdate:
      frame = { type, id: r.fixed("id", ID_BYTES), count: r.varint("count"), weight: r.varint("weight") };
      break;
    case FrameType.Probe:
      frame = {
        type,
        hops: r.u8("hops"),
        probeId: r.varint("probeId"),
        origin: r.fixed("origin", RELAY_ID_BYTES),
        target: r.fixed("target", RELAY_ID_BYTES),
      };
      break;
    case FrameType.ProbeReply:
      frame = {
        type,
        hops: r.u8("hops"),
        probeId: r.varint("probeId"),
        origin: r.fixed("origin", RELAY_ID_BYTES),
        responder: r.fixed("responder", RELAY_ID_BYTES),
        probeHops: r.u8("probeHops"),
      };
      break;
    case FrameType.Inspect:
      frame = {
        type,
        hops: r.u8("hops"),
        corr: r.varint("corr"),
        origin: r.fixed("origin", RELAY_ID_BYTES),
        target: r.fixed("target", RELAY_ID_BYTES),
      };
      break;
    case FrameType.InspectReply:
      frame = {
        type,
        hops: r.u8("hops"),
        corr: r.varint("corr"),
        origin: r.fixed("origin", RELAY_ID_BYTES),
        report: r.string("report", MAX_REPORT_BYTES),
      };
      break;
    case FrameType.Draining:
      frame = { type };
      break;
    default:
      throw new WireError("unknown-type", `frame type 0x${type.toString(16).padStart(2, "0")}`);
  }
  r.end(frameName(frame.type));
  return frame;
}

/** Reads only the frame type; used where a hot path must not decode more than it routes on. */
export function peekFrameType(bytes: Uint8Array): number {
  if (bytes.length < HEADER) throw new WireError("truncated", "frame shorter than its header");
  if (bytes[0] !== WIRE_VERSION) {
    throw new WireError("version", `wire version ${bytes[0]} is not supported (this end speaks ${WIRE_VERSION})`);
  }
  return bytes[1]!;
}

export function frameName(type: number): string {
  for (const [name, value] of Object.entries(FrameType)) if (value === type) return name;
  return `0x${type.toString(16)}`;
}

function joinKind(value: number): JoinKind {
  return enumValue("join kind", value, JoinKind);
}

function enumValue<T extends Record<string, number>>(field: string, value: number, values: T): T[keyof T] {
  for (const known of Object.values(values)) if (known === value) return value as T[keyof T];
  throw new WireError("malformed", `${field}: unknown value ${value}`);
}
