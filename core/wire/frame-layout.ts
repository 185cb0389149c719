// What every frame codec shares: the header, the type codes, common field widths, and where routed frames
// keep their hop budget and flags. It is its own file so the per-group codecs (frames-*.ts) can use it
// without importing the catalogue (frames.ts), which imports them.

import type { Reader } from "./codec.ts";
import { Writer, WireError, varintSize } from "./codec.ts";

export const WIRE_VERSION = 1;

export const ID_BYTES = 32; // cluster and topic ids: a hash of (kind, name hash, membership public key)
export const PEER_ID_BYTES = 16;
export const RELAY_ID_BYTES = 16;
export const NONCE_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const MAX_TEXT_BYTES = 1024;
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

export const HEADER = 2;
export const MAX_VARINT = 8;

/** A writer for a frame of `type`, its header written, with room for `bodyBound` bytes of fields. */
export function startFrame(type: FrameType, bodyBound: number): Writer {
  return new Writer(HEADER + bodyBound).u8(WIRE_VERSION).u8(type);
}

/**
 * A group of frames with a codec of its own (frames-session.ts, frames-message.ts, frames-tunnel.ts,
 * frames-overlay.ts): the type codes it owns, and how to encode and decode them. The decoder gets the
 * header read already and the type it announced.
 */
export interface FrameGroup<F extends { type: FrameType }> {
  readonly types: readonly F["type"][];
  encode(frame: F): Uint8Array;
  decode(type: F["type"], r: Reader): F;
}

export function textSize(text: string): number {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  const bound = text.length * 3;
  return varintSize(bound) + bound;
}

/** Frames without an open payload at the end must be consumed exactly: checks so and hands `frame` back. */
export function endFrame<F extends { type: FrameType }>(r: Reader, frame: F): F {
  r.end(frameName(frame.type));
  return frame;
}

export function frameName(type: number): string {
  for (const [name, value] of Object.entries(FrameType)) if (value === type) return name;
  return `0x${type.toString(16)}`;
}

export function enumValue<T extends Record<string, number>>(field: string, value: number, values: T): T[keyof T] {
  for (const known of Object.values(values)) if (known === value) return value as T[keyof T];
  throw new WireError("malformed", `${field}: unknown value ${value}`);
}
