// inflateCapped under attack. It runs only after a seal has opened, so its input comes from a key holder,
// who may still be hostile: any stream and any declared length give either exactly the declared number
// of bytes (never more than the cap) or a RangeError (which open() turns into a SealError), never
// another exception; a declared length past the cap is refused before any work; a bomb stops early.

import assert from "node:assert/strict";
import fc from "fast-check";
import { deflateSync } from "fflate";
import { INFLATE_SLICE, fflateCompression } from "../../../core/crypto/compress.ts";

/** The portable backend: the one whose work the meter (fflate's inflater) can count. */
const inflateCapped = (input: Uint8Array, declared: number, cap: number) =>
  fflateCompression.inflate(input, declared, cap);
import { equalBytes } from "../../../core/util/bytes.ts";
import { fcParams, fuzzTests, unitTest, describeError, preview } from "../../fuzz/harness.ts";
import type { FuzzProperty } from "../../fuzz/harness.ts";
import { mutate, mutations } from "../../fuzz/frame-arbitraries.ts";
import { inflateInputOf } from "../../fixtures/inflate-meter.ts";

const CAP = 8192;

/** The contract: the declared number of bytes, within the cap, or a RangeError. */
function inflateOrRefuse(input: Uint8Array, declared: number, cap = CAP): Uint8Array | RangeError {
  try {
    const out = inflateCapped(input, declared, cap);
    assert.equal(out.length, declared, "inflated to a length other than the declared one");
    assert.ok(out.length <= cap, `inflated ${out.length} bytes past the cap of ${cap}`);
    return out;
  } catch (error) {
    assert.ok(
      error instanceof RangeError,
      `inflateCapped(${preview(input)}, ${declared}) threw ${describeError(error)}`,
    );
    return error;
  }
}

/** Data that compresses somewhat: runs of a few symbols, some noise. */
const original = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 500 })), { maxLength: 20 })
    .map((runs) => Uint8Array.from(runs.flatMap(([symbol, n]) => new Array<number>(n).fill(97 + symbol)))),
);
const level = fc.constantFrom(0, 1, 4, 9) as fc.Arbitrary<0 | 1 | 4 | 9>;
const declaredLie = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -5000, max: 5000 }));

const properties: FuzzProperty[] = [
  {
    name: "an honest stream inflates to exactly its original; any other declared length is refused",
    runs: 3_000,
    check: (params) =>
      fc.assert(
        fc.property(original, level, declaredLie, (data, lvl, delta) => {
          const stream = deflateSync(data, { level: lvl });
          const exact = inflateOrRefuse(stream, data.length);
          if (data.length <= CAP)
            assert.ok(exact instanceof Uint8Array && equalBytes(exact, data), "honest stream refused");
          else assert.ok(exact instanceof RangeError, "a declared length past the cap was accepted");
          const declared = Math.max(0, data.length + delta);
          const outcome = inflateOrRefuse(stream, declared);
          if (declared !== data.length)
            assert.ok(outcome instanceof RangeError, `declared ${declared} for ${data.length} bytes, accepted`);
        }),
        fcParams(params),
      ),
  },
  {
    name: "mutated streams give the declared length or RangeError",
    runs: 5_000,
    check: (params) =>
      fc.assert(
        fc.property(original, level, mutations, fc.boolean(), (data, lvl, edits, truthful) => {
          const stream = mutate(deflateSync(data, { level: lvl }), edits);
          inflateOrRefuse(stream, truthful ? Math.min(data.length, CAP) : CAP);
        }),
        fcParams(params),
      ),
  },
  {
    name: "random bytes with any declared length give that length or RangeError",
    runs: 5_000,
    check: (params) =>
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 400 }),
          fc.oneof(fc.nat({ max: 2 * CAP }), fc.maxSafeNat()),
          (input, declared) => {
            inflateOrRefuse(input, declared);
          },
        ),
        fcParams(params),
      ),
  },
];

fuzzTests("inflateCapped", properties);

unitTest("fuzz: a 64 MiB bomb declared within the cap stops at the cap, at once", () => {
  // 64 MiB of zeros deflate to ~64 KiB. Declared honestly it is over the cap: refused before any work.
  // Declared as 8 KiB it is a lie: inflation must stop near the cap, not produce the 64 MiB first.
  // Work is counted in compressed bytes fed to the inflater, which no machine's load can stretch.
  const bomb = deflateSync(new Uint8Array(64 << 20), { level: 9 });
  const refused = inflateInputOf(() => inflateCapped(bomb, 64 << 20, CAP));
  assert.ok(
    refused.thrown instanceof RangeError && /exceeds the cap/.test(refused.thrown.message),
    describeError(refused.thrown),
  );
  assert.equal(refused.bytes, 0, "a declared length over the cap must be refused before inflating");
  const before = process.memoryUsage().arrayBuffers;
  const overshoot = inflateInputOf(() => inflateCapped(bomb, CAP, CAP));
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(
    overshoot.thrown instanceof RangeError && /past its declared/.test(overshoot.thrown.message),
    describeError(overshoot.thrown),
  );
  // One slice in, the output is past the claim and inflation stops: the rest of the bomb is never read.
  assert.ok(
    overshoot.bytes <= INFLATE_SLICE && overshoot.bytes <= bomb.length / 8,
    `the inflater read ${overshoot.bytes} of the bomb's ${bomb.length} bytes`,
  );
  assert.ok(grown < 16 << 20, `inflating the bomb grew live buffers by ${grown} bytes`);
});
