// Compression, as a backend like secretbox (nacl.ts): fflate here, the portable one; Node's zlib in
// compress.node.ts (the same raw DEFLATE, several times faster). This is the only module that imports
// fflate. Compression happens before sealing and inflation only after a successful open, so only a key
// holder can feed us a compressed stream; even then the inflated size is declared up front and checked
// against a cap, and inflation stops as soon as the stream overshoots it.

import { Inflate, deflateSync } from "fflate";

/**
 * The DEFLATE level both backends use. Messages are compressed on the sender's hot path, so speed
 * matters more than the last bytes. On the bench's JSON-like text (CPU time, best of six runs), zlib at
 * level 1 deflates 16 KiB in 42 µs and 64 KiB in 251 µs, against 75 and 471 µs at level 4, for output
 * about 9% larger (ratio 0.226 against 0.208); fflate gains 10 to 20%.
 */
export const DEFLATE_LEVEL = 1;

export interface CompressionBackend {
  readonly name: string;
  /** Raw DEFLATE; null when it would not shrink the input. */
  deflate(input: Uint8Array): Uint8Array | null;
  /**
   * Inflates `input`, which claims to expand to exactly `declaredLength` bytes. A claim over `cap` is
   * refused (RangeError) before any work; a stream that produces more or fewer bytes than it claimed is
   * refused too, and one that produces more stops being inflated soon after it passes the claim.
   */
  inflate(input: Uint8Array, declaredLength: number, cap: number): Uint8Array;
}

/**
 * Input is fed to fflate's inflater in slices this big: fflate inflates a whole push at once, and a
 * DEFLATE stream expands at most about 1032 times, so a bomb is caught within ~2 MiB of output. Much
 * smaller slices cost more in fflate's per-push copies than the inflation itself.
 */
export const INFLATE_SLICE = 2048;

class InflateOvershoot extends Error {}

export const fflateCompression: CompressionBackend = {
  name: "fflate",
  deflate(input) {
    const out = deflateSync(input, { level: DEFLATE_LEVEL });
    return out.length < input.length ? out : null;
  },
  inflate(input, declaredLength, cap) {
    checkClaim(declaredLength, cap);
    const out = new Uint8Array(declaredLength);
    let produced = 0;
    let finished = false;
    const inflater = new Inflate((chunk, final) => {
      if (produced + chunk.length > declaredLength) throw new InflateOvershoot();
      out.set(chunk, produced);
      produced += chunk.length;
      if (final) finished = true;
    });
    try {
      for (let offset = 0; offset < input.length; offset += INFLATE_SLICE) {
        const end = Math.min(input.length, offset + INFLATE_SLICE);
        inflater.push(input.subarray(offset, end), end === input.length);
      }
    } catch (error) {
      if (error instanceof InflateOvershoot) throw overshoot(declaredLength);
      throw new RangeError(`corrupt compressed data: ${(error as Error).message}`);
    }
    if (!finished || produced !== declaredLength) throw mismatch(produced, declaredLength);
    return out;
  },
};

/** Refuses a claimed length over the cap, before any work. */
export function checkClaim(declaredLength: number, cap: number): void {
  if (declaredLength > cap) throw new RangeError(`inflated size ${declaredLength} exceeds the cap of ${cap}`);
}

export function overshoot(declaredLength: number): RangeError {
  return new RangeError(`compressed data inflates past its declared ${declaredLength} bytes`);
}

export function mismatch(produced: number, declaredLength: number): RangeError {
  return new RangeError(`compressed data inflates to ${produced} bytes, declared ${declaredLength}`);
}
