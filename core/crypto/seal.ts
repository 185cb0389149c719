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
// id (the sender's epoch and counter, message-ids.ts) and the timestamp feed the receiver's replay window.
//
// Hot paths build a frame around its seal in one buffer: the frame's header, then SEAL_PREFIX bytes of
// room, then the plaintext, sealed in place (sealInPlace), and receivers open it in place too (open), so
// a message is copied once on its way out and not at all on its way in.

import { fillRandom } from "../util/bytes.ts";
import { ProtocolError } from "../errors.ts";
import { Reader, varintSize, writeVarintAt } from "../wire/codec.ts";
import { SECRETBOX_NONCE_BYTES, SECRETBOX_OVERHEAD } from "./nacl.ts";
import type { CryptoBackend, SecretboxBackend } from "./nacl.ts";

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
/** The version byte, the nonce and the MAC: what a sealed message adds before its plaintext. */
export const SEAL_PREFIX = 1 + SECRETBOX_NONCE_BYTES + SECRETBOX_OVERHEAD;

/** Bytes a sealed message adds to its body at most (before compression). */
export const SEAL_OVERHEAD = SEAL_PREFIX + MAX_HEADER;

/** A payload that failed to open: wrong key, tampered, malformed or a compression bomb. */
export class SealError extends ProtocolError {}

export interface SealHeader {
  purpose: Purpose;
  /** The sender's next message id (message-ids.ts). */
  messageId: Uint8Array;
  /** Milliseconds since the epoch, in network time. */
  timestamp: number;
  inReplyTo?: Uint8Array | null;
}

export interface SealOptions extends SealHeader {
  /** Bodies at least this long are compressed (when that shrinks them); Infinity disables it. */
  compressAbove?: number;
  /** Never compress: compression leaks information about content through its length. */
  sensitive?: boolean;
}

export interface Opened {
  purpose: Purpose;
  messageId: Uint8Array;
  timestamp: number;
  inReplyTo: Uint8Array | null;
  /** A view into the sealed message's own bytes (opened in place), or the inflated body. */
  body: Uint8Array;
}

/** Bytes of the plaintext header for these fields; `inflated` is the body's length when it is compressed. */
export function sealHeaderSize(header: SealHeader, inflated: number | null = null): number {
  return (
    2 +
    MESSAGE_ID_BYTES +
    varintSize(header.timestamp) +
    (header.inReplyTo ? MESSAGE_ID_BYTES : 0) +
    (inflated === null ? 0 : varintSize(inflated))
  );
}

/**
 * Writes the plaintext header at `offset` and returns where the body goes. `inflated` is the body's
 * length before compression, when the body that follows is compressed.
 */
export function writeSealHeader(
  buffer: Uint8Array,
  offset: number,
  header: SealHeader,
  inflated: number | null = null,
): number {
  buffer[offset++] = (inflated === null ? 0 : FLAG_COMPRESSED) | (header.inReplyTo ? FLAG_IN_REPLY_TO : 0);
  buffer[offset++] = header.purpose;
  buffer.set(header.messageId, offset);
  offset = writeVarintAt(buffer, offset + MESSAGE_ID_BYTES, header.timestamp);
  if (header.inReplyTo) {
    buffer.set(header.inReplyTo, offset);
    offset += MESSAGE_ID_BYTES;
  }
  if (inflated !== null) offset = writeVarintAt(buffer, offset, inflated);
  return offset;
}

/**
 * Seals in place: `sealed` is SEAL_PREFIX bytes of room followed by the plaintext (header and body);
 * afterwards it is the sealed message.
 */
export function sealInPlace(box: SecretboxBackend, key: Uint8Array, sealed: Uint8Array): void {
  sealed[0] = SEAL_VERSION;
  const nonce = sealed.subarray(1, 1 + SECRETBOX_NONCE_BYTES);
  fillRandom(nonce);
  box.sealInPlace(sealed.subarray(1 + SECRETBOX_NONCE_BYTES), nonce, key);
}

/** Seals a body into a message of its own (the frame around it is built by the caller). */
export function seal(crypto: CryptoBackend, key: Uint8Array, body: Uint8Array, options: SealOptions): Uint8Array {
  let content = body;
  let inflated: number | null = null;
  if (!options.sensitive && body.length >= (options.compressAbove ?? Infinity)) {
    const compressed = crypto.compression.deflate(body);
    if (compressed) {
      content = compressed;
      inflated = body.length;
    }
  }
  const headerSize = sealHeaderSize(options, inflated);
  const sealed = new Uint8Array(SEAL_PREFIX + headerSize + content.length);
  const bodyAt = writeSealHeader(sealed, SEAL_PREFIX, options, inflated);
  sealed.set(content, bodyAt);
  sealInPlace(crypto.secretbox, key, sealed);
  return sealed;
}

/**
 * Opens a sealed message, in place: `sealed` is overwritten with its plaintext, and what comes back is
 * views into it. `maxBody` caps the inflated size of a compressed body. Throws SealError on anything that
 * is not an authentic, well-formed message under `key`.
 */
export function open(crypto: CryptoBackend, key: Uint8Array, sealed: Uint8Array, maxBody: number): Opened {
  if (sealed.length < SEAL_PREFIX) throw new SealError("sealed message too short");
  if (sealed[0] !== SEAL_VERSION) throw new SealError(`unknown seal version ${sealed[0]}`);
  const nonce = sealed.subarray(1, 1 + SECRETBOX_NONCE_BYTES);
  if (!crypto.secretbox.openInPlace(sealed.subarray(1 + SECRETBOX_NONCE_BYTES), nonce, key)) {
    throw new SealError("sealed message does not authenticate (wrong key or tampered)");
  }
  try {
    const r = new Reader(sealed, SEAL_PREFIX);
    const flags = r.u8("flags");
    if (flags & ~KNOWN_FLAGS) throw new SealError(`unknown seal flags 0x${flags.toString(16)}`);
    const purpose = r.u8("purpose") as Purpose;
    const messageId = r.fixed("messageId", MESSAGE_ID_BYTES);
    const timestamp = r.varint("timestamp");
    const inReplyTo = flags & FLAG_IN_REPLY_TO ? r.fixed("inReplyTo", MESSAGE_ID_BYTES) : null;
    let body: Uint8Array;
    if (flags & FLAG_COMPRESSED) {
      const declared = r.varint("inflatedLength");
      body = crypto.compression.inflate(r.rest(), declared, maxBody);
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
