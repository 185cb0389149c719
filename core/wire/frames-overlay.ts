// Frames about the overlay itself rather than any service: relays proving themselves to each other,
// gossiping the directory, reporting tree aggregates, probing, answering inspections, and draining.

import type { Reader } from "./codec.ts";
import {
  FrameType,
  ID_BYTES,
  MAX_VARINT,
  NONCE_BYTES,
  PUBLIC_KEY_BYTES,
  RELAY_ID_BYTES,
  SIGNATURE_BYTES,
  endFrame,
  startFrame,
  textSize,
} from "./frame-layout.ts";
import type { FrameGroup } from "./frame-layout.ts";

/** Relay addresses are URLs; a Relays frame lists at most this many. */
export const MAX_ADDRESS_BYTES = 512;
export const MAX_RELAYS_LISTED = 256;
/** An inspection report is JSON, capped so it fits a frame comfortably. */
export const MAX_REPORT_BYTES = 256 * 1024;

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

export type OverlayFrame =
  | RelayHelloFrame
  | RelayWelcomeFrame
  | RelaysFrame
  | TreeUpdateFrame
  | ProbeFrame
  | ProbeReplyFrame
  | InspectFrame
  | InspectReplyFrame
  | DrainingFrame;

export const OVERLAY_FRAMES: FrameGroup<OverlayFrame> = {
  types: [
    FrameType.RelayHello,
    FrameType.RelayWelcome,
    FrameType.Relays,
    FrameType.TreeUpdate,
    FrameType.Probe,
    FrameType.ProbeReply,
    FrameType.Inspect,
    FrameType.InspectReply,
    FrameType.Draining,
  ],
  encode: (frame) => encodeOverlayFrame(frame),
  decode: (type, r) => decodeOverlayFrame(type, r),
};

function encodeOverlayFrame(frame: OverlayFrame): Uint8Array {
  switch (frame.type) {
    case FrameType.RelayHello:
      return startFrame(frame.type, 1 + textSize(frame.address) + NONCE_BYTES)
        .u8(frame.flags)
        .string(frame.address, MAX_ADDRESS_BYTES)
        .fixed(frame.nonce, NONCE_BYTES)
        .finish();
    case FrameType.RelayWelcome:
      return startFrame(frame.type, textSize(frame.address) + PUBLIC_KEY_BYTES + SIGNATURE_BYTES)
        .string(frame.address, MAX_ADDRESS_BYTES)
        .fixed(frame.identityKey, PUBLIC_KEY_BYTES)
        .fixed(frame.signature, SIGNATURE_BYTES)
        .finish();
    case FrameType.Relays: {
      let bound = MAX_VARINT;
      for (const relay of frame.relays) bound += RELAY_ID_BYTES + textSize(relay.address) + MAX_VARINT;
      const w = startFrame(frame.type, bound).varint(frame.relays.length);
      for (const relay of frame.relays) {
        w.fixed(relay.id, RELAY_ID_BYTES).string(relay.address, MAX_ADDRESS_BYTES).varint(relay.age);
      }
      return w.finish();
    }
    case FrameType.TreeUpdate:
      return startFrame(frame.type, ID_BYTES + 2 * MAX_VARINT)
        .fixed(frame.id, ID_BYTES)
        .varint(frame.count)
        .varint(frame.weight)
        .finish();
    case FrameType.Probe:
      return startFrame(frame.type, 1 + MAX_VARINT + 2 * RELAY_ID_BYTES)
        .u8(frame.hops)
        .varint(frame.probeId)
        .fixed(frame.origin, RELAY_ID_BYTES)
        .fixed(frame.target, RELAY_ID_BYTES)
        .finish();
    case FrameType.ProbeReply:
      return startFrame(frame.type, 2 + MAX_VARINT + 2 * RELAY_ID_BYTES)
        .u8(frame.hops)
        .varint(frame.probeId)
        .fixed(frame.origin, RELAY_ID_BYTES)
        .fixed(frame.responder, RELAY_ID_BYTES)
        .u8(frame.probeHops)
        .finish();
    case FrameType.Inspect:
      return startFrame(frame.type, 1 + MAX_VARINT + 2 * RELAY_ID_BYTES)
        .u8(frame.hops)
        .varint(frame.corr)
        .fixed(frame.origin, RELAY_ID_BYTES)
        .fixed(frame.target, RELAY_ID_BYTES)
        .finish();
    case FrameType.InspectReply:
      return startFrame(frame.type, 1 + MAX_VARINT + RELAY_ID_BYTES + textSize(frame.report))
        .u8(frame.hops)
        .varint(frame.corr)
        .fixed(frame.origin, RELAY_ID_BYTES)
        .string(frame.report, MAX_REPORT_BYTES)
        .finish();
    case FrameType.Draining:
      return startFrame(frame.type, 0).finish();
  }
}

/** Reads the fields after the header of an overlay frame of `type`. */
function decodeOverlayFrame(type: OverlayFrame["type"], r: Reader): OverlayFrame {
  switch (type) {
    case FrameType.RelayHello:
      return endFrame(r, {
        type,
        flags: r.u8("flags"),
        address: r.string("address", MAX_ADDRESS_BYTES),
        nonce: r.fixed("nonce", NONCE_BYTES),
      });
    case FrameType.RelayWelcome:
      return endFrame(r, {
        type,
        address: r.string("address", MAX_ADDRESS_BYTES),
        identityKey: r.fixed("identityKey", PUBLIC_KEY_BYTES),
        signature: r.fixed("signature", SIGNATURE_BYTES),
      });
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
      return endFrame(r, { type, relays });
    }
    case FrameType.TreeUpdate:
      return endFrame(r, { type, id: r.fixed("id", ID_BYTES), count: r.varint("count"), weight: r.varint("weight") });
    case FrameType.Probe:
      return endFrame(r, {
        type,
        hops: r.u8("hops"),
        probeId: r.varint("probeId"),
        origin: r.fixed("origin", RELAY_ID_BYTES),
        target: r.fixed("target", RELAY_ID_BYTES),
      });
    case FrameType.ProbeReply:
      return endFrame(r, {
        type,
        hops: r.u8("hops"),
        probeId: r.varint("probeId"),
        origin: r.fixed("origin", RELAY_ID_BYTES),
        responder: r.fixed("responder", RELAY_ID_BYTES),
        probeHops: r.u8("probeHops"),
      });
    case FrameType.Inspect:
      return endFrame(r, {
        type,
        hops: r.u8("hops"),
        corr: r.varint("corr"),
        origin: r.fixed("origin", RELAY_ID_BYTES),
        target: r.fixed("target", RELAY_ID_BYTES),
      });
    case FrameType.InspectReply:
      return endFrame(r, {
        type,
        hops: r.u8("hops"),
        corr: r.varint("corr"),
        origin: r.fixed("origin", RELAY_ID_BYTES),
        report: r.string("report", MAX_REPORT_BYTES),
      });
    case FrameType.Draining:
      return endFrame(r, { type });
  }
}
