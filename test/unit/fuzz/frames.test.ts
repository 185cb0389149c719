// decodeFrame under attack. Every input either decodes to a frame that re-encodes to the very same bytes
// (one spelling per frame: nothing an attacker can smuggle past a relay that forwards bytes as read) or
// is refused with a WireError, never another exception. Inputs: random bytes, valid frames of every
// type built with encodeFrame from arbitrary field values, those frames mutated and truncated, and
// frames whose length fields lie. A lie about a length must be caught before anything is allocated
// for it.

import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_RELAYS_LISTED, decodeFrame, encodeFrame } from "../../../core/wire/frames.ts";
import type { Frame } from "../../../core/wire/frames.ts";
import { WireError } from "../../../core/wire/codec.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { fcParams, fuzzTests, unitTest, describeError, preview, thrownBy } from "../../fuzz/harness.ts";
import type { FuzzProperty } from "../../fuzz/harness.ts";
import { anyFrame, headeredNoise, mutate, mutations, validFrame } from "../../fuzz/frame-arbitraries.ts";

/** The decoder's contract: a frame that re-encodes to `input`, or a WireError. */
function decodeOrRefuse(input: Uint8Array): Frame | WireError {
  let frame: Frame;
  try {
    frame = decodeFrame(input);
  } catch (error) {
    assert.ok(error instanceof WireError, `${preview(input)} threw ${describeError(error)}, not a WireError`);
    return error;
  }
  assert.equal(toHex(encodeFrame(frame)), toHex(input), `${preview(input)} decoded, but re-encodes differently`);
  return frame;
}

/**
 * Offsets of every length prefix and count in a frame's encoding, found by difference: lengthening one
 * string (or adding one relay entry) changes the first byte of its length varint before anything else.
 * This keeps working whatever fields frames gain.
 */
function lengthFields(frame: Frame): number[] {
  const base = encodeFrame(frame);
  const offsets: number[] = [];
  const diff = (variant: Frame) => {
    let other: Uint8Array;
    try {
      other = encodeFrame(variant);
    } catch {
      return; // one more character would exceed the field's cap: nothing to find
    }
    let i = 0;
    while (i < base.length && base[i] === other[i]) i++;
    offsets.push(i);
  };
  for (const [key, value] of Object.entries(frame)) {
    if (typeof value === "string") diff({ ...frame, [key]: `${value}a` } as Frame);
  }
  if ("relays" in frame) {
    diff({ ...frame, relays: [...frame.relays, { id: new Uint8Array(16), address: "", age: 0 }] });
    for (let i = 0; i < frame.relays.length; i++) {
      diff({
        ...frame,
        relays: frame.relays.map((entry, j) => (i === j ? { ...entry, address: `${entry.address}a` } : entry)),
      });
    }
  }
  return offsets;
}

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

/** The bytes of the varint at `offset` (up to 8). */
function varintLength(bytes: Uint8Array, offset: number): number {
  let n = 0;
  while (n < 8 && offset + n < bytes.length && (bytes[offset + n]! & 0x80) !== 0) n++;
  return n + 1;
}

type Lie = { kind: "over"; by: number } | { kind: "value"; value: number } | { kind: "raw"; bytes: readonly number[] };

const lie: fc.Arbitrary<Lie> = fc.oneof(
  // Claims more bytes than follow: by a little, or by a lot.
  fc.record({
    kind: fc.constant("over" as const),
    by: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 2 ** 40 })),
  }),
  // Any claim, caps and their neighbours included.
  fc.record({
    kind: fc.constant("value" as const),
    value: fc.oneof(
      fc.constantFrom(
        0,
        1,
        255,
        256,
        257,
        512,
        513,
        1024,
        1025,
        262_144,
        262_145,
        2 ** 31,
        2 ** 32,
        Number.MAX_SAFE_INTEGER,
      ),
      fc.maxSafeNat(),
    ),
  }),
  // Spellings no encoder produces: unterminated within 8 bytes, padded with a zero final byte. (A lone
  // 0x80 is here too: it borrows the next byte, so it may yet spell a plausible length.)
  fc.record({
    kind: fc.constant("raw" as const),
    bytes: fc.constantFrom<readonly number[]>(
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      [0x80, 0x00],
      [0x81, 0x80, 0x00],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
      [0x80],
    ),
  }),
);

/** Replaces the varint at `offset` with the lie; returns the new bytes and whether the claim exceeds what is left. */
function tell(bytes: Uint8Array, offset: number, told: Lie): { input: Uint8Array; impossible: boolean } {
  const length = varintLength(bytes, offset);
  const left = bytes.length - offset - length;
  const claim = told.kind === "over" ? left + told.by : told.kind === "value" ? told.value : null;
  const spelled = told.kind === "raw" ? told.bytes : encodeVarint(claim!);
  const input = Uint8Array.of(...bytes.subarray(0, offset), ...spelled, ...bytes.subarray(offset + length));
  // Every raw spelling but the lone 0x80 is malformed whatever follows; a claim past what is left can
  // be met by nothing (a relay count included: each entry takes more than a byte).
  const malformed = told.kind === "raw" && told.bytes.length > 1;
  return { input, impossible: malformed || (claim !== null && claim > left) };
}

const properties: FuzzProperty[] = [
  {
    name: "random bytes decode to a frame that re-encodes to them, or throw WireError",
    runs: 30_000,
    check: (params) =>
      fc.assert(
        fc.property(headeredNoise, (input) => void decodeOrRefuse(input)),
        fcParams(params),
      ),
  },
  {
    name: "valid frames of every type round-trip: encode, decode, encode gives the same bytes and fields",
    runs: 15_000,
    check: (params) =>
      fc.assert(
        fc.property(anyFrame, (frame) => {
          const bytes = encodeFrame(frame);
          const decoded = decodeOrRefuse(bytes);
          assert.ok(!(decoded instanceof WireError), `a valid ${frame.type} frame was refused: ${String(decoded)}`);
          assert.deepEqual(plain(decoded), plain(frame));
        }),
        fcParams(params),
      ),
  },
  {
    name: "mutated valid frames decode exactly or throw WireError",
    runs: 25_000,
    check: (params) =>
      fc.assert(
        fc.property(validFrame, mutations, ({ bytes }, edits) => void decodeOrRefuse(mutate(bytes, edits))),
        fcParams(params),
      ),
  },
  {
    name: "every truncation of a valid frame is refused, or decodes exactly when its last field is an open payload",
    runs: 4_000,
    check: (params) =>
      fc.assert(
        fc.property(validFrame, ({ frame, bytes }) => {
          const openEnded = ["sealed", "body"].some((field) => field in frame);
          for (let cut = 0; cut < bytes.length; cut++) {
            const outcome = decodeOrRefuse(bytes.subarray(0, cut));
            if (!openEnded)
              assert.ok(outcome instanceof WireError, `${frame.type} cut to ${cut} of ${bytes.length} bytes decoded`);
          }
        }),
        fcParams(params),
      ),
  },
  {
    name: "lying length prefixes and counts are refused (what they claim is never allocated: see the test below)",
    runs: 8_000,
    check: (params) =>
      fc.assert(
        fc.property(
          validFrame.filter(({ frame }) => lengthFields(frame).length > 0),
          fc.nat(),
          lie,
          ({ frame, bytes }, pick, told) => {
            const offsets = lengthFields(frame);
            const offset = offsets[pick % offsets.length]!;
            const { input, impossible } = tell(bytes, offset, told);
            const outcome = decodeOrRefuse(input);
            if (impossible)
              assert.ok(outcome instanceof WireError, `a length lie at ${offset} decoded: ${preview(input)}`);
          },
        ),
        fcParams(params),
      ),
  },
];

/** Byte fields as hex, so deepEqual compares contents and not view offsets. */
function plain(frame: Frame): unknown {
  return JSON.parse(
    JSON.stringify(frame, (_key, value: unknown) => (value instanceof Uint8Array ? `hex:${toHex(value)}` : value)),
  );
}

fuzzTests("decodeFrame", properties);

unitTest("fuzz: decodeFrame allocates nothing for what a frame claims: 20,000 lies of up to 2^53 bytes", () => {
  // Strings, relay lists and addresses claiming every size up to the largest varint. Were any claim
  // allocated (or even a capped share of it), the live ArrayBuffer total would climb by gigabytes.
  const claims = [2 ** 20, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER];
  const lies: Uint8Array[] = [];
  for (const claim of claims) {
    const big = encodeVarint(claim);
    lies.push(Uint8Array.of(1, 0x06, ...big, 0x41)); // GoAway reason
    lies.push(Uint8Array.of(1, 0x52, ...encodeVarint(MAX_RELAYS_LISTED), ...new Uint8Array(16), ...big)); // a relay address
    lies.push(Uint8Array.of(1, 0x52, ...big)); // the relay count itself
    lies.push(Uint8Array.of(1, 0x57, 64, 1, ...new Uint8Array(16), ...big)); // an inspection report
  }
  const before = process.memoryUsage().arrayBuffers;
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const error = thrownBy(() => decodeFrame(lies[i % lies.length]!));
    assert.ok(error instanceof WireError, describeError(error));
    assert.ok(error.reason === "oversized" || error.reason === "truncated", error.message);
    refused++;
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.equal(refused, 20_000);
  assert.ok(grown < 16 * 1024 * 1024, `live ArrayBuffers grew by ${grown} bytes while refusing lies`);
});
