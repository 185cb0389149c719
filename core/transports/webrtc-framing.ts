// How Link frames travel inside RTCDataChannel messages. Pure functions and buffers, no I/O, so the
// framing is tested byte for byte without a peer connection.
//
// Channel messages are at most 64 KiB: every current stack accepts that much (werift's limit is exactly
// 64 KiB, browsers' 256 KiB or more), and the link lowers it to what the two ends negotiated. Chromium
// spends a fixed cost on every message at both ends, so 64 KiB messages cut its CPU per byte by about
// a quarter against 16 KiB ones, while a message still leaves in a few milliseconds and holds little up
// behind it. A Link frame may be much larger (1 MiB and more) or tiny (a heartbeat), so each channel
// message carries a sequence of records:
//
//   [kind: u8][length: u16 big-endian][length bytes]
//
//   kind 0, Frame: the bytes end a Link frame (the whole frame, or the last piece of one)
//   kind 1, Part:  a piece of a Link frame that continues in the next record
//   kind 2, End:   end of stream; the bytes are [close code: u16][reason: UTF-8]
//
// Small frames share one message (coalescing); a large frame is split into Part records that fill each
// message. The End record exists because RTCDataChannel.close() may discard data still queued: the
// closing side sends End after everything else, and the receiver learns the close code and reason from
// it rather than from the channel.

import { fromUtf8 } from "../util/bytes.ts";
import { CloseCode } from "./link.ts";

/** Largest channel message we send, unless the two ends negotiated less (see above). */
export const MAX_CHANNEL_MESSAGE = 64 * 1024;
export const RECORD_HEADER_BYTES = 3;
/** Smallest channel message a packer can work with: a record header and a few bytes. */
export const MIN_CHANNEL_MESSAGE = RECORD_HEADER_BYTES + 4;
/** Longest close reason carried by an End record, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 1024;

export const RecordKind = { Frame: 0, Part: 1, End: 2 } as const;

/** A peer broke the framing; `code` is the close code the link reports for it. */
export class FramingError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "FramingError";
  }
}

/**
 * Packs frames into channel messages. Messages become available in order through peek()/shift(); the
 * message being filled is only sealed when peek() asks for it, so frames sent while the channel is busy
 * keep joining it.
 */
export class MessagePacker {
  private readonly ready: Uint8Array<ArrayBuffer>[] = [];
  private readyBytes = 0;
  private current: Uint8Array<ArrayBuffer> | null = null;
  private used = 0;

  constructor(private readonly maxMessage: number = MAX_CHANNEL_MESSAGE) {
    if (
      !Number.isInteger(maxMessage) ||
      maxMessage < MIN_CHANNEL_MESSAGE ||
      maxMessage > 0xffff + RECORD_HEADER_BYTES
    ) {
      throw new RangeError(`channel message size must be an integer from ${MIN_CHANNEL_MESSAGE} to 65538`);
    }
  }

  /** Bytes packed and not yet taken by shift(), record headers included. */
  get queuedBytes(): number {
    return this.readyBytes + this.used;
  }

  get empty(): boolean {
    return this.ready.length === 0 && this.used === 0;
  }

  /** Copies the frame into messages at once: the caller may reuse its buffer after this returns. */
  pushFrame(frame: Uint8Array): void {
    let offset = 0;
    do {
      const left = frame.length - offset;
      // A record with no payload only makes sense for the empty frame; otherwise start a new message
      // when not even one payload byte fits.
      if (this.room() < RECORD_HEADER_BYTES + (left > 0 ? 1 : 0)) this.seal();
      const take = Math.min(left, this.room() - RECORD_HEADER_BYTES);
      const kind = take === left ? RecordKind.Frame : RecordKind.Part;
      this.writeRecord(kind, frame.subarray(offset, offset + take));
      offset += take;
    } while (offset < frame.length);
  }

  /** Appends the End record; nothing should be pushed after it. */
  pushEnd(code: number, reason: string): void {
    const limit = Math.min(MAX_REASON_BYTES, this.maxMessage - RECORD_HEADER_BYTES - 2);
    const text = new Uint8Array(limit);
    // encodeInto never writes part of a character, so a cut reason stays valid UTF-8.
    const { written } = new TextEncoder().encodeInto(reason, text);
    const payload = new Uint8Array(2 + written);
    new DataView(payload.buffer).setUint16(0, code & 0xffff);
    payload.set(text.subarray(0, written), 2);
    if (this.room() < RECORD_HEADER_BYTES + payload.length) this.seal();
    this.writeRecord(RecordKind.End, payload);
  }

  /** The next message to send, sealing the one being filled if nothing else is waiting. */
  peek(): Uint8Array<ArrayBuffer> | undefined {
    if (this.ready.length === 0) this.seal();
    return this.ready[0];
  }

  /** Drops the message peek() returned, once it was handed to the channel. */
  shift(): void {
    const message = this.ready.shift();
    if (message) this.readyBytes -= message.length;
  }

  clear(): void {
    this.ready.length = 0;
    this.readyBytes = 0;
    this.current = null;
    this.used = 0;
  }

  private room(): number {
    return this.maxMessage - this.used;
  }

  private writeRecord(kind: number, payload: Uint8Array): void {
    if (!this.current) this.current = new Uint8Array(this.maxMessage);
    const at = this.used;
    this.current[at] = kind;
    this.current[at + 1] = payload.length >> 8;
    this.current[at + 2] = payload.length & 0xff;
    this.current.set(payload, at + RECORD_HEADER_BYTES);
    this.used += RECORD_HEADER_BYTES + payload.length;
  }

  private seal(): void {
    if (!this.current || this.used === 0) return;
    // A view, not a copy: the buffer is never written again once sealed.
    const message = this.current.subarray(0, this.used);
    this.ready.push(message);
    this.readyBytes += message.length;
    this.current = null;
    this.used = 0;
  }
}

export interface RecordSink {
  frame(bytes: Uint8Array): void;
  end(code: number, reason: string): void;
}

/** Reassembles frames from channel messages, enforcing the largest frame this end accepts. */
export class RecordReader {
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private ended = false;

  constructor(private readonly maxFrame: number) {}

  /** Bytes of a frame received in part, waiting for the rest. */
  get pendingBytes(): number {
    return this.partBytes;
  }

  /** Feeds one channel message; calls the sink per frame and for End. Throws FramingError. */
  read(message: Uint8Array, sink: RecordSink): void {
    let at = 0;
    while (at < message.length) {
      if (this.ended) throw new FramingError(CloseCode.Protocol, "data after end of stream");
      if (message.length - at < RECORD_HEADER_BYTES)
        throw new FramingError(CloseCode.Protocol, "truncated record header");
      const kind = message[at]!;
      const length = (message[at + 1]! << 8) | message[at + 2]!;
      const start = at + RECORD_HEADER_BYTES;
      const stop = start + length;
      if (stop > message.length) throw new FramingError(CloseCode.Protocol, "truncated record");
      const payload = message.subarray(start, stop);
      at = stop;
      switch (kind) {
        case RecordKind.Frame:
          sink.frame(this.complete(payload));
          break;
        case RecordKind.Part:
          this.addPart(payload);
          break;
        case RecordKind.End:
          this.ended = true;
          sink.end(...decodeEnd(payload, this.partBytes));
          break;
        default:
          throw new FramingError(CloseCode.Protocol, `unknown record kind ${kind}`);
      }
    }
  }

  private addPart(payload: Uint8Array): void {
    this.checkSize(payload.length);
    this.parts.push(payload);
    this.partBytes += payload.length;
  }

  private complete(payload: Uint8Array): Uint8Array {
    this.checkSize(payload.length);
    if (this.parts.length === 0) return payload;
    const frame = new Uint8Array(this.partBytes + payload.length);
    let offset = 0;
    for (const part of this.parts) {
      frame.set(part, offset);
      offset += part.length;
    }
    frame.set(payload, offset);
    this.parts = [];
    this.partBytes = 0;
    return frame;
  }

  private checkSize(adding: number): void {
    if (this.partBytes + adding > this.maxFrame) {
      throw new FramingError(CloseCode.TooBig, `frame larger than ${this.maxFrame} bytes`);
    }
  }
}

function decodeEnd(payload: Uint8Array, pendingBytes: number): [number, string] {
  if (payload.length < 2) throw new FramingError(CloseCode.Protocol, "end of stream without a close code");
  // A frame cut off by End means the sender broke its own framing; say so rather than drop it quietly.
  if (pendingBytes > 0) throw new FramingError(CloseCode.Protocol, "end of stream inside a frame");
  const code = (payload[0]! << 8) | payload[1]!;
  let reason: string;
  try {
    reason = fromUtf8(payload.subarray(2));
  } catch {
    throw new FramingError(CloseCode.Protocol, "close reason is not UTF-8");
  }
  return [code, reason];
}
