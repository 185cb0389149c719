// Sealing: how every payload crosses relays. A sealed message is
//
//   [SEAL_VERSION u8][nonce 24][secretbox(payload key, nonce, plaintext)]
//
// and the plaintext starts with a header that the box authenticates:
//
//   [flags u8][purpose u8][message id 16][timestamp varint ms][in-reply-to 16]?[inflated length varint]?[body]
//
// Nonces are random, never counters: one cluster key is shared by many senders. The purpose stops a
// request body from being replayed as a broadcast; in-reply-to binds a reply to its request; the message
// id and timestamp feed the receiver's replay window.

import { randomBytes } from "../util/bytes.ts";
import { ProtocolError } from "../errors.ts";
import { Reader, Writer, varintSize } from "../wire/codec.ts";
import { deflate, inflateCapped } from "./compress.ts";
import { SECRETBOX_NONCE_BYTES, SECRETBOX_OVERHEAD, secretbox, secretboxOpen } from "./nacl.ts";

export const SEAL_VERSION = 1;
export const MESSAGE_ID_BYTES = 16;

export const Purpose = {
  Request: 1,
  Reply: 2,
  RemoteError: 3,
  Broadcast: 4,
  Publish: 5,
  TunnelOpen: 6,
  TunnelAccept: 7,
} as const;
export type Purpose = (typeof Purpose)[keyof typeof Purpose];

const FLAG_COMPRESSED = 0x01;
const FLAG_IN_REPLY_TO = 0x02;
const KNOWN_FLAGS = FLAG_COMPRESSED | FLAG_IN_REPLY_TO;
const MAX_HEADER = 2 + MESSAGE_ID_BYTES + 8 + MESSAGE_ID_BYTES + 8;

/** Bytes a sealed message adds to its body at most (before compression). */
export const SEAL_OVERHEAD = 1 + SECRETBOX_NONCE_BYTES + SECRETBOX_OVERHEAD + MAX_HEADER;

/** A payload that failed to open: wrong key, tampered, malformed or a compression bomb. */
export class SealError extends ProtocolError {}

export interface SealOptions {
  purpose: Purpose;
  /** Milliseconds since the epoch, in network time. */
  timestamp: number;
  inReplyTo?: Uint8Array;
  /** Bodies at least this long are compressed (when that shrinks them); Infinity disables it. */
  compressAbove?: number;
  /** Never compress: compression leaks information about content through length. */
  sensitive?: boolean;
  /** For tests and retries: a fixed message id. Normally random. */
  messageId?: Uint8Array;
}

export interface Opened {
  purpose: Purpose;
  messageId: Uint8Array;
  timestamp: number;
  inReplyTo: Uint8Array | null;
  body: Uint8Array;
}

export function seal(key: Uint8Array, body: Uint8Array, options: SealOptions): Uint8Array {
  const messageId = options.messageId ?? randomBytes(MESSAGE_ID_BYTES);
  let flags = 0;
  let content = body;
  if (!options.sensitive && body.length >= (options.compressAbove ?? Infinity)) {
    const compressed = deflate(body);
    if (compressed) {
      flags |= FLAG_COMPRESSED;
      content = compressed;
    }
  }
  if (options.inReplyTo) flags |= FLAG_IN_REPLY_TO;
  const plain = new Writer(MAX_HEADER + content.length)
    .u8(flags)
    .u8(options.purpose)
    .fixed(messageId, MESSAGE_ID_BYTES);
  plain.varint(options.timestamp);
  if (options.inReplyTo) plain.fixed(options.inReplyTo, MESSAGE_ID_BYTES);
  if (flags & FLAG_COMPRESSED) plain.varint(body.length);
  plain.rest(content);

  const nonce = randomBytes(SECRETBOX_NONCE_BYTES);
  const box = secretbox(plain.finish(), nonce, key);
  const out = new Uint8Array(1 + SECRETBOX_NONCE_BYTES + box.length);
  out[0] = SEAL_VERSION;
  out.set(nonce, 1);
  out.set(box, 1 + SECRETBOX_NONCE_BYTES);
  return out;
}

/**
 * Opens a sealed message. `maxBody` caps the inflated size of a compressed body. Throws SealError on
 * anything that is not an authentic, well-formed message under `key`.
 */
export function open(key: Uint8Array, sealed: Uint8Array, maxBody: number): Opened {
  if (sealed.length < 1 + SECRETBOX_NONCE_BYTES + SECRETBOX_OVERHEAD) throw new SealError("sealed message too short");
  if (sealed[0] !== SEAL_VERSION) throw new SealError(`unknown seal version ${sealed[0]}`);
  const plain = secretboxOpen(
    sealed.subarray(1 + SECRETBOX_NONCE_BYTES),
    sealed.subarray(1, 1 + SECRETBOX_NONCE_BYTES),
    key,
  );
  if (!plain) throw new SealError("sealed message does not authenticate (wrong key or tampered)");
  try {
    const r = new Reader(plain);
    const flags = r.u8("flags");
    if (flags & ~KNOWN_FLAGS) throw new SealError(`unknown seal flags 0x${flags.toString(16)}`);
    const purpose = r.u8("purpose") as Purpose;
    const messageId = r.fixed("messageId", MESSAGE_ID_BYTES);
    const timestamp = r.varint("timestamp");
    const inReplyTo = flags & FLAG_IN_REPLY_TO ? r.fixed("inReplyTo", MESSAGE_ID_BYTES) : null;
    let body: Uint8Array;
    if (flags & FLAG_COMPRESSED) {
      const declared = r.varint("inflatedLength");
      body = inflateCapped(r.rest(), declared, maxBody);
    } else {
      body = r.rest();
      if (body.length > maxBody) throw new SealError(`body of ${body.length} bytes exceeds ${maxBody}`);
    }
    return { purpose, messageId, timestamp, inReplyTo, body };
  } catch (error) {
    if (error instanceof SealError) throw error;
    throw new SealError(`malformed sealed message: ${(error as Error).message}`, { cause: error });
  }
}

/** Upper bound of a sealed message's size for a body of `bodyLength` bytes. */
export function sealedSize(bodyLength: number): number {
  return SEAL_OVERHEAD + bodyLength + varintSize(bodyLength);
}
