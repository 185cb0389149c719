// Compression through Node's zlib: the same raw DEFLATE as fflate (compress.ts), in native code. zlib
// stops inflating as soon as the output passes maxOutputLength, which is how a bomb is caught here.

import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { CompressionBackend } from "./compress.ts";
import { DEFLATE_LEVEL, checkClaim, mismatch, overshoot } from "./compress.ts";

export const zlibCompression: CompressionBackend = {
  name: "zlib",
  deflate(input) {
    const out = deflateRawSync(input, { level: DEFLATE_LEVEL });
    return out.length < input.length ? new Uint8Array(out.buffer, out.byteOffset, out.length) : null;
  },
  inflate(input, declaredLength, cap) {
    checkClaim(declaredLength, cap);
    let out: Buffer;
    try {
      // zlib stops as soon as the output would pass this.
      out = inflateRawSync(input, { maxOutputLength: Math.max(1, declaredLength) });
    } catch (error) {
      if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw overshoot(declaredLength);
      throw new RangeError(`corrupt compressed data: ${(error as Error).message}`);
    }
    if (out.length !== declaredLength) {
      if (out.length > declaredLength) throw overshoot(declaredLength);
      throw mismatch(out.length, declaredLength);
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  },
};
