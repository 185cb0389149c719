// Generators of wire frames for the fuzz tests: every frame type with arbitrary field values (always
// within what encodeFrame accepts, so each one is a valid frame), and the ways an attacker bends valid
// bytes: bit flips, byte edits, insertions, deletions, truncations, and lies in length fields.

import fc from "fast-check";
import {
  FrameType,
  ID_BYTES,
  JoinKind,
  LINK_MAC_BYTES,
  NONCE_BYTES,
  NackCode,
  PEER_ID_BYTES,
  PUBLIC_KEY_BYTES,
  RELAY_ID_BYTES,
  ReplyStatus,
  SIGNATURE_BYTES,
  TunnelCloseCode,
  encodeFrame,
} from "../../core/wire/frames.ts";
import type { Frame } from "../../core/wire/frames.ts";
import { concat } from "../../core/util/bytes.ts";

type FrameOf<T extends Frame["type"]> = Extract<Frame, { type: T }>;

export const bytes = (length: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: length, maxLength: length });
/** Payloads: mostly short, sometimes empty. */
export const payload = (maxLength = 200): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
const u8 = fc.integer({ min: 0, max: 255 });
/** Varint values: small ones (one or two bytes), and anything up to 2^53 - 1. */
export const varint: fc.Arbitrary<number> = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat());
/**
 * Text whose UTF-8 stays within `maxBytes` (UTF-8 takes at most 3 bytes per UTF-16 unit). Full Unicode,
 * lone surrogates included: the encoder turns those into U+FFFD, still a valid frame.
 */
const text = (maxBytes: number, maxLength = 40): fc.Arbitrary<string> =>
  fc.string({ unit: "binary", maxLength: Math.min(maxLength, Math.floor(maxBytes / 3)) });
const values = <T extends Record<string, number>>(record: T): fc.Arbitrary<T[keyof T]> =>
  fc.constantFrom(...(Object.values(record) as Array<T[keyof T]>));

/** One generator per frame type; a Record so a new type in FrameType fails to compile until added. */
const byType: { [K in Frame["type"]]: fc.Arbitrary<FrameOf<K>> } = {
  [FrameType.Challenge]: fc.record({
    type: fc.constant(FrameType.Challenge),
    relayId: bytes(RELAY_ID_BYTES),
    nonce: bytes(NONCE_BYTES),
  }),
  [FrameType.Hello]: fc.record({
    type: fc.constant(FrameType.Hello),
    identityKey: bytes(PUBLIC_KEY_BYTES),
    signature: bytes(SIGNATURE_BYTES),
    agent: text(1024),
  }),
  [FrameType.Welcome]: fc.record({
    type: fc.constant(FrameType.Welcome),
    peerId: bytes(PEER_ID_BYTES),
    relayTime: varint,
    heartbeatMs: varint,
    maxMessage: varint,
  }),
  [FrameType.Ping]: fc.record({ type: fc.constant(FrameType.Ping), stamp: varint }),
  [FrameType.Pong]: fc.record({ type: fc.constant(FrameType.Pong), stamp: varint }),
  [FrameType.GoAway]: fc.record({ type: fc.constant(FrameType.GoAway), reason: text(1024) }),
  [FrameType.LinkHello]: fc.record({
    type: fc.constant(FrameType.LinkHello),
    ephemeral: bytes(PUBLIC_KEY_BYTES),
    mac: bytes(LINK_MAC_BYTES),
  }),
  [FrameType.LinkWelcome]: fc.record({
    type: fc.constant(FrameType.LinkWelcome),
    ephemeral: bytes(PUBLIC_KEY_BYTES),
    mac: bytes(LINK_MAC_BYTES),
  }),
  [FrameType.Join]: fc.record({
    type: fc.constant(FrameType.Join),
    corr: varint,
    kind: values(JoinKind),
    nameHash: bytes(ID_BYTES),
    publicKey: bytes(PUBLIC_KEY_BYTES),
    signature: bytes(SIGNATURE_BYTES),
  }),
  [FrameType.Leave]: fc.record({
    type: fc.constant(FrameType.Leave),
    corr: varint,
    kind: values(JoinKind),
    id: bytes(ID_BYTES),
  }),
  [FrameType.Ack]: fc.record({ type: fc.constant(FrameType.Ack), corr: varint }),
  [FrameType.Nack]: fc.record({
    type: fc.constant(FrameType.Nack),
    corr: varint,
    code: values(NackCode),
    message: text(1024),
  }),
  [FrameType.Load]: fc.record({ type: fc.constant(FrameType.Load), id: bytes(ID_BYTES), load: varint }),
  [FrameType.Request]: fc.record({
    type: fc.constant(FrameType.Request),
    hops: u8,
    flags: u8,
    id: bytes(ID_BYTES),
    origin: bytes(PEER_ID_BYTES),
    reqId: varint,
    timeoutMs: varint,
    sealed: payload(),
  }),
  [FrameType.Reply]: fc.record({
    type: fc.constant(FrameType.Reply),
    status: values(ReplyStatus),
    origin: bytes(PEER_ID_BYTES),
    reqId: varint,
    body: payload(),
  }),
  [FrameType.Broadcast]: fc.record({
    type: fc.constant(FrameType.Broadcast),
    hops: u8,
    id: bytes(ID_BYTES),
    origin: bytes(PEER_ID_BYTES),
    sealed: payload(),
  }),
  [FrameType.Publish]: fc.record({
    type: fc.constant(FrameType.Publish),
    hops: u8,
    id: bytes(ID_BYTES),
    origin: bytes(PEER_ID_BYTES),
    sealed: payload(),
  }),
  [FrameType.TunnelOpen]: fc.record({
    type: fc.constant(FrameType.TunnelOpen),
    hops: u8,
    flags: u8,
    id: bytes(ID_BYTES),
    origin: bytes(PEER_ID_BYTES),
    tunnelId: varint,
    window: varint,
    sealed: payload(),
  }),
  [FrameType.TunnelAccept]: fc.record({
    type: fc.constant(FrameType.TunnelAccept),
    origin: bytes(PEER_ID_BYTES),
    tunnelId: varint,
    window: varint,
    sealed: payload(),
  }),
  [FrameType.TunnelData]: fc.record({
    type: fc.constant(FrameType.TunnelData),
    flags: u8,
    origin: bytes(PEER_ID_BYTES),
    tunnelId: varint,
    seq: varint,
    sealed: payload(),
  }),
  [FrameType.TunnelCredit]: fc.record({
    type: fc.constant(FrameType.TunnelCredit),
    flags: u8,
    origin: bytes(PEER_ID_BYTES),
    tunnelId: varint,
    granted: varint,
    ack: varint,
  }),
  [FrameType.TunnelClose]: fc.record({
    type: fc.constant(FrameType.TunnelClose),
    flags: u8,
    origin: bytes(PEER_ID_BYTES),
    tunnelId: varint,
    code: values(TunnelCloseCode),
    sent: varint,
    reason: text(1024),
  }),
  [FrameType.RelayHello]: fc.record({
    type: fc.constant(FrameType.RelayHello),
    flags: u8,
    address: text(512),
    nonce: bytes(NONCE_BYTES),
  }),
  [FrameType.RelayWelcome]: fc.record({
    type: fc.constant(FrameType.RelayWelcome),
    address: text(512),
    identityKey: bytes(PUBLIC_KEY_BYTES),
    signature: bytes(SIGNATURE_BYTES),
  }),
  [FrameType.Relays]: fc.record({
    type: fc.constant(FrameType.Relays),
    relays: fc.array(fc.record({ id: bytes(RELAY_ID_BYTES), address: text(512, 24), age: varint }), { maxLength: 6 }),
  }),
  [FrameType.TreeUpdate]: fc.record({
    type: fc.constant(FrameType.TreeUpdate),
    id: bytes(ID_BYTES),
    count: varint,
    weight: varint,
  }),
  [FrameType.Probe]: fc.record({
    type: fc.constant(FrameType.Probe),
    hops: u8,
    probeId: varint,
    origin: bytes(RELAY_ID_BYTES),
    target: bytes(RELAY_ID_BYTES),
  }),
  [FrameType.ProbeReply]: fc.record({
    type: fc.constant(FrameType.ProbeReply),
    hops: u8,
    probeId: varint,
    origin: bytes(RELAY_ID_BYTES),
    responder: bytes(RELAY_ID_BYTES),
    probeHops: u8,
  }),
  [FrameType.Inspect]: fc.record({
    type: fc.constant(FrameType.Inspect),
    hops: u8,
    corr: varint,
    origin: bytes(RELAY_ID_BYTES),
    target: bytes(RELAY_ID_BYTES),
  }),
  [FrameType.InspectReply]: fc.record({
    type: fc.constant(FrameType.InspectReply),
    hops: u8,
    corr: varint,
    origin: bytes(RELAY_ID_BYTES),
    report: text(256 * 1024, 120),
  }),
  [FrameType.Draining]: fc.record({ type: fc.constant(FrameType.Draining) }),
};

export const FRAME_TYPES = Object.values(FrameType) as Frame["type"][];

/** A valid frame of any type, every type equally likely. */
export const anyFrame: fc.Arbitrary<Frame> = fc.oneof(
  ...FRAME_TYPES.map((type) => byType[type] as fc.Arbitrary<Frame>),
);

/** A valid frame of one of `types`. */
export function frameOf(...types: Frame["type"][]): fc.Arbitrary<Frame> {
  return fc.oneof(...types.map((type) => byType[type] as fc.Arbitrary<Frame>));
}

/** A valid frame's bytes, with the frame they encode. */
export const validFrame: fc.Arbitrary<{ frame: Frame; bytes: Uint8Array }> = anyFrame.map((frame) => ({
  frame,
  bytes: encodeFrame(frame),
}));

/** Random bytes, most of them behind a valid header so the field decoders behind it get exercised. */
export const headeredNoise: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(...FRAME_TYPES), fc.uint8Array({ maxLength: 300 }))
      .map(([type, body]) => Uint8Array.of(1, type, ...body)),
  },
);

/** One edit of a byte string. Positions are fractions of the length so they shrink and stay in range. */
export type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; value: number }
  | { op: "insert"; at: number; data: Uint8Array }
  | { op: "delete"; at: number; count: number }
  | { op: "truncate"; at: number }
  | { op: "append"; data: Uint8Array }
  | { op: "duplicate"; at: number; count: number };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fraction, bit: fc.integer({ min: 0, max: 7 }) }),
  // The values that matter most to varints and lengths, then any byte.
  fc.record({
    op: fc.constant("set" as const),
    at: fraction,
    value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), u8),
  }),
  fc.record({ op: fc.constant("insert" as const), at: fraction, data: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fraction, count: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fraction }),
  fc.record({ op: fc.constant("append" as const), data: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ op: fc.constant("duplicate" as const), at: fraction, count: fc.integer({ min: 1, max: 16 }) }),
);

/** Applies mutations in order, to a copy. */
export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out: Uint8Array = input.slice();
  for (const m of mutations) {
    if (m.op === "append") {
      out = concat(out, m.data);
      continue;
    }
    const at = Math.floor(m.at * (out.length + (m.op === "insert" || m.op === "truncate" ? 1 : 0)));
    switch (m.op) {
      case "flip":
        if (out.length > 0) out[at] = out[at]! ^ (1 << m.bit);
        break;
      case "set":
        if (out.length > 0) out[at] = m.value;
        break;
      case "insert":
        out = concat(out.subarray(0, at), m.data, out.subarray(at));
        break;
      case "delete":
        out = concat(out.subarray(0, at), out.subarray(at + m.count));
        break;
      case "truncate":
        out = out.slice(0, at);
        break;
      case "duplicate":
        out = concat(out.subarray(0, at + m.count), out.subarray(at));
        break;
    }
  }
  return out;
}

export const mutations: fc.Arbitrary<Mutation[]> = fc.array(mutation, { minLength: 1, maxLength: 4 });
