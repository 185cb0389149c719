// The only module that imports fflate. Compression happens before sealing and inflation only after a
// successful open, so only a key holder can feed us a compressed stream; even then the inflated size is
// declared up front and checked against a cap, and inflation stops as soon as the stream overshoots it.

import { Inflate, deflateSync } from "fflate";

/** Input is fed to the inflater in slices this big, so one slice can overshoot the cap by ~1 MiB at most. */
const INFLATE_SLICE = 1024;

/** Raw DEFLATE; returns null when it would not shrink the input. */
export function deflate(input: Uint8Array): Uint8Array | null {
  const out = deflateSync(input, { level: 4 });
  return out.length < input.length ? out : null;
}

class InflateOvershoot extends Error {}

/**
 * Inflates `input`, which claims to expand to exactly `declaredLength` bytes. A claim over `cap` is
 * refused before any work; a stream that produces more or fewer bytes than it claimed is refused too.
 */
export function inflateCapped(input: Uint8Array, declaredLength: number, cap: number): Uint8Array {
  if (declaredLength > cap) throw new RangeError(`inflated size ${declaredLength} exceeds the cap of ${cap}`);
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
    if (error instanceof InflateOvershoot) {
      throw new RangeError(`compressed data inflates past its declared ${declaredLength} bytes`);
    }
    throw new RangeError(`corrupt compressed data: ${(error as Error).message}`);
  }
  if (!finished || produced !== declaredLength) {
    throw new RangeError(`compressed data inflates to ${produced} bytes, declared ${declaredLength}`);
  }
  return out;
}
