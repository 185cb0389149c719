// Primitive field codecs: unsigned LEB128 varints, fixed-width bytes, length-prefixed bytes and strings.
// The reader never allocates what a length field claims: it checks the claim against the bytes actually
// present (and a per-field cap) first, and hands out views into the input rather than copies.

import { ProtocolError } from "../errors.ts";
import { fromUtf8, utf8 } from "../util/bytes.ts";

export type WireErrorReason = "truncated" | "oversized" | "malformed" | "version" | "unknown-type";

/** A frame that cannot be decoded. `reason` is stable and machine-readable. */
export class WireError extends ProtocolError {
  readonly reason: WireErrorReason;
  constructor(reason: WireErrorReason, message: string) {
    super(`${reason}: ${message}`);
    this.reason = reason;
  }
}

/** Varints carry at most 53 bits so every value is a safe JavaScript integer; that takes 8 bytes. */
export const MAX_VARINT_BYTES = 8;

export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/**
 * Writes a varint into `bytes` at `offset` and returns the offset after it: for hot paths that build a
 * frame in a buffer they sized themselves, without a Writer.
 */
export function writeVarintAt(bytes: Uint8Array, offset: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  while (value >= 0x80) {
    bytes[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  bytes[offset++] = value;
  return offset;
}

export class Writer {
  private readonly bytes: Uint8Array;
  private offset = 0;

  /** `capacity` is an upper bound of what will be written; exceeding it is a programming error. */
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  u8(value: number): this {
    this.bytes[this.offset++] = value;
    return this;
  }

  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
    while (value >= 0x80) {
      this.bytes[this.offset++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.bytes[this.offset++] = value;
    return this;
  }

  /** Fixed-width field: the reader knows its length, so none is written. */
  fixed(value: Uint8Array, length: number): this {
    if (value.length !== length) throw new RangeError(`expected ${length} bytes, got ${value.length}`);
    this.bytes.set(value, this.offset);
    this.offset += length;
    return this;
  }

  /** Length-prefixed bytes. */
  bytesField(value: Uint8Array): this {
    this.varint(value.length);
    this.bytes.set(value, this.offset);
    this.offset += value.length;
    return this;
  }

  /** A length-prefixed UTF-8 string; longer than `max` bytes is a programming error, refused here. */
  string(value: string, max: number): this {
    const bytes = utf8(value);
    if (bytes.length > max) throw new RangeError(`string of ${bytes.length} bytes exceeds ${max}`);
    return this.bytesField(bytes);
  }

  /** The rest of the frame, unprefixed: always the last field. */
  rest(value: Uint8Array): this {
    this.bytes.set(value, this.offset);
    this.offset += value.length;
    return this;
  }

  finish(): Uint8Array {
    return this.offset === this.bytes.length ? this.bytes : this.bytes.subarray(0, this.offset);
  }
}

export class Reader {
  private offset: number;

  constructor(
    private readonly bytes: Uint8Array,
    offset = 0,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Where the next field starts. */
  get position(): number {
    return this.offset;
  }

  u8(field: string): number {
    if (this.offset >= this.bytes.length) throw new WireError("truncated", `${field}: missing byte`);
    return this.bytes[this.offset++]!;
  }

  varint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.offset >= this.bytes.length) throw new WireError("truncated", `${field}: varint cut short`);
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        // A zero final byte after the first means a padded encoding; only one spelling of each value is valid.
        if (byte === 0 && i > 0) throw new WireError("malformed", `${field}: non-minimal varint`);
        if (value > max) throw new WireError("oversized", `${field}: ${value} exceeds ${max}`);
        return value;
      }
      scale *= 0x80;
    }
    throw new WireError("malformed", `${field}: varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  /** A view of `length` bytes; no copy. */
  fixed(field: string, length: number): Uint8Array {
    if (this.remaining < length) {
      throw new WireError("truncated", `${field}: needs ${length} bytes, ${this.remaining} left`);
    }
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  /** A view of a length-prefixed field; the claimed length is checked before anything is touched. */
  bytesField(field: string, max: number): Uint8Array {
    const length = this.varint(field, Number.MAX_SAFE_INTEGER);
    if (length > max) throw new WireError("oversized", `${field}: ${length} bytes exceeds ${max}`);
    return this.fixed(field, length);
  }

  string(field: string, max: number): string {
    const raw = this.bytesField(field, max);
    try {
      return fromUtf8(raw);
    } catch {
      throw new WireError("malformed", `${field}: invalid UTF-8`);
    }
  }

  /** Everything after the current position, as a view. */
  rest(): Uint8Array {
    const view = this.bytes.subarray(this.offset);
    this.offset = this.bytes.length;
    return view;
  }

  /** Fails on trailing garbage: a frame must be consumed exactly. */
  end(frame: string): void {
    if (this.remaining !== 0) throw new WireError("malformed", `${frame}: ${this.remaining} trailing bytes`);
  }
}
