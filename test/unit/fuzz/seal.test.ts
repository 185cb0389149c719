// open() under attack. Whoever does not hold the key (a relay, anyone on the path) can only make open()
// throw SealError: every change to a sealed message, however small, fails to authenticate, and so does
// every other key and every random input. Whoever does hold the key (a hostile member of the cluster)
// can make open() parse any plaintext at all: even then the answer is an opened message or a SealError,
// never another exception, and a compressed body is never inflated past the cap.

import assert from "node:assert/strict";
import fc from "fast-check";
import { MESSAGE_ID_BYTES, Purpose, SEAL_VERSION, SealError, open, seal } from "../../../core/crypto/seal.ts";
import type { Opened } from "../../../core/crypto/seal.ts";
import { SECRETBOX_NONCE_BYTES } from "../../../core/crypto/nacl.ts";
import { fflateCompression } from "../../../core/crypto/compress.ts";
import { concat, equalBytes, toHex } from "../../../core/util/bytes.ts";
import { fcParams, fuzzTests, describeError, preview } from "../../fuzz/harness.ts";
import type { FuzzProperty } from "../../fuzz/harness.ts";
import { bytes, mutate, mutations, varint } from "../../fuzz/frame-arbitraries.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

/** The cap receivers pass to open(): small, so bodies and bombs cross it often. */
const CAP = 4096;

const key = bytes(32);
const body = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  // Compressible bodies, so the compressed path is sealed too.
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 6000 }))
    .map(([byte, n]) => new Uint8Array(n).fill(byte)),
);
const sealOptions = fc.record({
  messageId: bytes(MESSAGE_ID_BYTES),
  purpose: fc.constantFrom(...Object.values(Purpose)),
  timestamp: varint,
  inReplyTo: fc.option(bytes(MESSAGE_ID_BYTES), { nil: undefined }),
  compressAbove: fc.constantFrom(0, 64, Infinity),
  sensitive: fc.boolean(),
});

/**
 * The contract: an Opened, or a SealError (which is a ProtocolError), and nothing else. open() works in
 * place, so it is given a copy: callers compare the input afterwards.
 */
function openOrRefuse(k: Uint8Array, input: Uint8Array, cap = CAP): Opened | SealError {
  const sealed = input.slice();
  try {
    const opened = open(testCrypto, k, sealed, cap);
    assert.ok(opened.body.length <= cap, `opened a body of ${opened.body.length} bytes past the cap of ${cap}`);
    return opened;
  } catch (error) {
    assert.ok(error instanceof SealError, `open(${preview(sealed)}) threw ${describeError(error)}, not a SealError`);
    return error;
  }
}

/** Seals a plaintext built by hand under `k`, skipping every check seal() makes. */
function sealPlaintext(k: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(SEAL_VERSION), nonce, testCrypto.secretbox.seal(plaintext, nonce, k));
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

let deflatedCache: Uint8Array[] | null = null;
/**
 * DEFLATE streams of runs of one byte, around the cap and far past it: a run deflates ~1000:1, so the
 * 8 MiB bomb fits in 8 KiB. Made once: deflating megabytes per generated case would dominate the run.
 */
function streams(): Uint8Array[] {
  deflatedCache ??= STREAM_LENGTHS.map(
    (length) => fflateCompression.deflate(new Uint8Array(length).fill(0x61)) ?? new Uint8Array(0),
  );
  return deflatedCache;
}
const STREAM_LENGTHS = [0, 1, 100, CAP - 1, CAP, CAP + 1, 2 * CAP, 1 << 20, 8 << 20];

/**
 * Plaintexts a key holder could seal: a header with any flags and purpose, any timestamp, an optional
 * in-reply-to, an inflated length that may lie, and content that is real DEFLATE (of a body that may
 * be a bomb), DEFLATE cut short, or noise.
 */
const hostilePlaintext: fc.Arbitrary<Uint8Array> = fc
  .record({
    flags: fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 0, max: 255 })),
    purpose: fc.integer({ min: 0, max: 255 }),
    messageId: bytes(MESSAGE_ID_BYTES),
    timestamp: varint,
    inReplyTo: bytes(MESSAGE_ID_BYTES),
    declared: fc.oneof(
      fc.constant("exact" as const),
      fc.integer({ min: 0, max: 2 * CAP }),
      fc.constantFrom(CAP, CAP + 1, 2 ** 31, Number.MAX_SAFE_INTEGER),
      varint,
    ),
    stream: fc.nat(),
    content: fc.constantFrom("deflate", "cut", "noise"),
    noise: fc.uint8Array({ maxLength: 200 }),
    truncateHeader: fc.option(fc.nat({ max: 60 }), { nil: undefined, freq: 8 }),
  })
  .map((p) => {
    const deflated = streams()[p.stream % STREAM_LENGTHS.length]!;
    // "exact" tells the truth about the stream (for "deflate"; for the others it is just one more lie).
    const declared = p.declared === "exact" ? STREAM_LENGTHS[p.stream % STREAM_LENGTHS.length]! : p.declared;
    const content =
      p.content === "noise" ? p.noise : p.content === "cut" ? deflated.subarray(0, deflated.length >> 1) : deflated;
    const header = [p.flags, p.purpose, ...p.messageId, ...varintBytes(p.timestamp)];
    if (p.flags & 2) header.push(...p.inReplyTo);
    if (p.flags & 1) header.push(...varintBytes(declared));
    const plain = Uint8Array.of(...header, ...content);
    return p.truncateHeader === undefined ? plain : plain.subarray(0, p.truncateHeader);
  });

const properties: FuzzProperty[] = [
  {
    name: "sealed messages open to what was sealed",
    runs: 3_000,
    check: (params) =>
      fc.assert(
        fc.property(key, body, sealOptions, (k, b, options) => {
          const opened = openOrRefuse(k, seal(testCrypto, k, b, options), 1 << 20);
          assert.ok(!(opened instanceof SealError), `an honest message failed to open: ${String(opened)}`);
          assert.ok(equalBytes(opened.body, b));
          assert.equal(opened.purpose, options.purpose);
          assert.equal(opened.timestamp, options.timestamp);
          assert.equal(
            opened.inReplyTo === null ? null : toHex(opened.inReplyTo),
            options.inReplyTo ? toHex(options.inReplyTo) : null,
          );
        }),
        fcParams(params),
      ),
  },
  {
    name: "any change to a sealed message makes open() throw SealError",
    runs: 8_000,
    check: (params) =>
      fc.assert(
        fc.property(key, body, sealOptions, mutations, (k, b, options, edits) => {
          const sealed = seal(testCrypto, k, b, options);
          const changed = mutate(sealed, edits);
          const outcome = openOrRefuse(k, changed);
          if (equalBytes(changed, sealed)) return; // the edits cancelled out
          assert.ok(outcome instanceof SealError, `a changed message opened: ${preview(changed)}`);
        }),
        fcParams(params),
      ),
  },
  {
    name: "another key, or random bytes, only ever give SealError",
    runs: 6_000,
    check: (params) =>
      fc.assert(
        fc.property(key, key, body, sealOptions, fc.uint8Array({ maxLength: 200 }), (k, other, b, options, noise) => {
          fc.pre(!equalBytes(k, other));
          assert.ok(
            openOrRefuse(other, seal(testCrypto, k, b, options)) instanceof SealError,
            "opened under the wrong key",
          );
          assert.ok(openOrRefuse(k, noise) instanceof SealError, "random bytes opened");
          // Noise behind a valid version byte reaches the authenticator rather than the length check.
          const versioned = Uint8Array.of(SEAL_VERSION, ...noise, ...new Uint8Array(SECRETBOX_NONCE_BYTES + 16));
          assert.ok(openOrRefuse(k, versioned) instanceof SealError, "versioned noise opened");
        }),
        fcParams(params),
      ),
  },
  {
    name: "a key holder's hand-made plaintexts (lying lengths, bombs, cut streams) open or give SealError, within the cap",
    runs: 4_000,
    check: (params) => {
      let opened = 0;
      fc.assert(
        fc.property(key, bytes(SECRETBOX_NONCE_BYTES), hostilePlaintext, (k, nonce, plain) => {
          const before = process.memoryUsage().arrayBuffers;
          const outcome = openOrRefuse(k, sealPlaintext(k, nonce, plain));
          // open() may allocate what the header declares only up to the cap, plus the plaintext itself,
          // plus the inflater's work on one 1 KiB input slice: at most ~1 MiB of output, produced into
          // doubling buffers (~5 MiB of short-lived garbage, not yet collected when we look). A bomb
          // inflated to its 8 MiB, or a declared length allocated past the cap, would exceed this.
          const grown = process.memoryUsage().arrayBuffers - before;
          assert.ok(grown < CAP + 2 * plain.length + (7 << 20), `open() grew live buffers by ${grown} bytes`);
          if (!(outcome instanceof SealError)) opened++;
        }),
        fcParams(params),
      );
      // Guards the generator: were nothing ever to open, the property would say little about the parser.
      assert.ok(opened >= params.numRuns / 50, `only ${opened} of ${params.numRuns} hand-made plaintexts opened`);
    },
  },
];

fuzzTests("seal.open", properties);
