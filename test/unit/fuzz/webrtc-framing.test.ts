// The data-channel record decoder (RecordReader, used by webrtc-link.ts) under attack, and its packer.
//
// Valid streams: any sequence of frames, of any size up to the reader's limit, packed into channel
// messages either by MessagePacker (with any message size, and peek() called at random moments so
// messages are cut at random points) or by hand (frames split into Part records at random offsets,
// records grouped into messages at random record boundaries) reassemble to exactly those frames, then
// the End record. Hostile streams: random records and mutated valid ones only ever throw FramingError
// with a known close code, and never hold more than the reader's frame limit.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  FramingError,
  MAX_REASON_BYTES,
  MessagePacker,
  RECORD_HEADER_BYTES,
  RecordKind,
  RecordReader,
} from "../../../core/transports/webrtc-framing.ts";
import { CloseCode } from "../../../core/transports/link.ts";
import { concat, equalBytes } from "../../../core/util/bytes.ts";
import { fcParams, fuzzTests, describeError } from "../../fuzz/harness.ts";
import type { FuzzProperty } from "../../fuzz/harness.ts";
import { mutate, mutations } from "../../fuzz/frame-arbitraries.ts";

const MAX_FRAME = 64 * 1024;

interface Read {
  frames: Uint8Array[];
  end: [number, string] | null;
  error: FramingError | null;
}

/** Feeds messages to a reader until the first error; checks it is a FramingError and the limit held. */
function readAll(messages: readonly Uint8Array[], maxFrame = MAX_FRAME): Read {
  const reader = new RecordReader(maxFrame);
  const out: Read = { frames: [], end: null, error: null };
  const sink = {
    frame: (bytes: Uint8Array) => {
      assert.ok(bytes.length <= maxFrame, `delivered a frame of ${bytes.length} bytes past the limit of ${maxFrame}`);
      out.frames.push(bytes.slice());
    },
    end: (code: number, reason: string) => void (out.end = [code, reason]),
  };
  for (const message of messages) {
    try {
      reader.read(message, sink);
    } catch (error) {
      assert.ok(error instanceof FramingError, `read() threw ${describeError(error)}, not a FramingError`);
      assert.ok(
        error.code === CloseCode.Protocol || error.code === CloseCode.TooBig,
        `unknown close code ${error.code}`,
      );
      out.error = error;
      return out;
    }
    assert.ok(reader.pendingBytes <= maxFrame, `holding ${reader.pendingBytes} bytes of a frame past the limit`);
  }
  return out;
}

/** Frames: mostly small, some spanning several messages, sizes at the limit included. */
const frame = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 65, max: 20_000 }), fc.nat()).map(([n, at]) => filled(n, at)) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(MAX_FRAME - 1, MAX_FRAME), fc.nat()).map(([n, at]) => filled(n, at)),
  },
);
/** Content that does not repeat within 64 KiB, so a misplaced piece shows; views, made once. */
const PATTERN = Uint8Array.from({ length: 2 * MAX_FRAME }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
function filled(length: number, at: number): Uint8Array {
  const start = at % (PATTERN.length - length + 1);
  return PATTERN.subarray(start, start + length);
}
const reason = fc.string({ unit: "binary", maxLength: 50 });
const closeCode = fc.integer({ min: 0, max: 0xffff });

/** Packs with MessagePacker, taking messages off at random moments (peek() cuts the message being filled). */
function pack(
  frames: readonly Uint8Array[],
  maxMessage: number,
  takeAfter: readonly boolean[],
  end: [number, string],
): Uint8Array[] {
  const packer = new MessagePacker(maxMessage);
  const out: Uint8Array[] = [];
  const take = () => {
    for (let message = packer.peek(); message; message = packer.peek()) {
      assert.ok(message.length <= maxMessage, "a message over the channel message size");
      out.push(message.slice());
      packer.shift();
    }
  };
  frames.forEach((bytes, i) => {
    packer.pushFrame(bytes);
    if (takeAfter[i % Math.max(1, takeAfter.length)]) take();
  });
  packer.pushEnd(...end);
  take();
  assert.equal(packer.queuedBytes, 0);
  return out;
}

function record(kind: number, payload: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(kind, payload.length >> 8, payload.length & 0xff), payload);
}

/** Packs by hand: each frame cut into Parts at the given offsets, records grouped into messages at the given boundaries. */
function packByHand(
  frames: readonly Uint8Array[],
  cuts: readonly number[],
  groups: readonly number[],
  end: [number, string],
): Uint8Array[] {
  const records: Uint8Array[] = [];
  let c = 0;
  for (const bytes of frames) {
    let at = 0;
    for (;;) {
      const left = bytes.length - at;
      // A piece is at most 65,535 bytes (the length field), and ends the frame when it takes the rest;
      // at most ~32 pieces per frame keep big frames from turning into tens of thousands of records.
      const cut = cuts.length === 0 ? left : cuts[c++ % cuts.length]!;
      const piece = Math.min(left, 0xffff, Math.max(cut, Math.ceil(bytes.length / 32)));
      if (piece >= left) {
        records.push(record(RecordKind.Frame, bytes.subarray(at)));
        break;
      }
      records.push(record(RecordKind.Part, bytes.subarray(at, at + piece)));
      at += piece;
    }
  }
  const endPayload = new Uint8Array(2 + 3 * end[1].length);
  new DataView(endPayload.buffer).setUint16(0, end[0]);
  const { written } = new TextEncoder().encodeInto(end[1], endPayload.subarray(2));
  records.push(record(RecordKind.End, endPayload.subarray(0, 2 + written)));
  const messages: Uint8Array[] = [];
  let g = 0;
  for (let i = 0; i < records.length; ) {
    const count = 1 + ((groups[g++ % Math.max(1, groups.length)] ?? 0) % 5);
    const group = records.slice(i, i + count);
    messages.push(concat(...group));
    i += count;
  }
  return messages;
}

/** What the reason turns into on the wire: UTF-8 (lone surrogates become U+FFFD), cut to `limit` bytes. */
function sentReason(reason: string, limit: number): string {
  const room = new Uint8Array(limit);
  const { written } = new TextEncoder().encodeInto(reason, room);
  return new TextDecoder().decode(room.subarray(0, written));
}

function assertReassembled(read: Read, frames: readonly Uint8Array[], end: [number, string]): void {
  assert.equal(read.error, null, `a valid stream was refused: ${read.error?.message}`);
  assert.equal(read.frames.length, frames.length, "frame count");
  for (const [i, bytes] of read.frames.entries()) assert.ok(equalBytes(bytes, frames[i]!), `frame ${i} differs`);
  assert.deepEqual(read.end, end, "the End record's code and reason");
}

const properties: FuzzProperty[] = [
  {
    name: "MessagePacker streams cut at random moments reassemble to exactly the frames sent, then End",
    runs: 2_500,
    check: (params) =>
      fc.assert(
        fc.property(
          fc.array(frame, { maxLength: 12 }),
          fc.oneof(
            { weight: 1, arbitrary: fc.integer({ min: RECORD_HEADER_BYTES + 4, max: 300 }) },
            { weight: 3, arbitrary: fc.integer({ min: 301, max: 0xffff + RECORD_HEADER_BYTES }) },
          ),
          fc.array(fc.boolean(), { maxLength: 12 }),
          closeCode,
          reason,
          (generated, maxMessage, takeAfter, code, why) => {
            // Tiny messages carry a few bytes each: keep their frames small, or one case takes 40 ms.
            const frames = maxMessage > 300 ? generated : generated.map((bytes) => bytes.subarray(0, 2048));
            const messages = pack(frames, maxMessage, takeAfter, [code, why]);
            const limit = Math.min(MAX_REASON_BYTES, maxMessage - RECORD_HEADER_BYTES - 2);
            assertReassembled(readAll(messages), frames, [code, sentReason(why, limit)]);
          },
        ),
        fcParams(params),
      ),
  },
  {
    name: "hand-packed streams, frames cut into Parts anywhere and records grouped into messages anywhere, reassemble exactly",
    runs: 2_500,
    check: (params) =>
      fc.assert(
        fc.property(
          fc.array(frame, { maxLength: 12 }),
          fc.array(fc.integer({ min: 1, max: 0xffff }), { maxLength: 16 }),
          fc.array(fc.nat(), { maxLength: 16 }),
          closeCode,
          reason,
          (frames, cuts, groups, code, why) => {
            assertReassembled(readAll(packByHand(frames, cuts, groups, [code, why])), frames, [
              code,
              sentReason(why, 3 * why.length),
            ]);
          },
        ),
        fcParams(params),
      ),
  },
  {
    name: "mutated streams give frames within the limit, or FramingError with a known close code",
    runs: 5_000,
    check: (params) =>
      fc.assert(
        fc.property(
          fc.array(frame, { maxLength: 6 }),
          fc.nat(),
          mutations,
          fc.nat({ max: 3 }),
          (frames, which, edits, maxIndex) => {
            const messages = pack(frames, 4096, [true, false], [1000, "bye"]);
            const i = which % messages.length;
            messages[i] = mutate(messages[i]!, edits);
            // A smaller limit too, so Part records cross it.
            readAll(messages, [MAX_FRAME, 4096, 100, 1][maxIndex]!);
          },
        ),
        fcParams(params),
      ),
  },
  {
    name: "random records give frames within the limit, or FramingError with a known close code",
    runs: 10_000,
    check: (params) =>
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.uint8Array({ maxLength: 40 }),
              fc
                .tuple(
                  fc.integer({ min: 0, max: 4 }),
                  fc.uint8Array({ maxLength: 40 }),
                  fc.integer({ min: -3, max: 3 }),
                )
                .map(([kind, payload, lie]) => {
                  const out = record(kind, payload);
                  const told = Math.max(0, Math.min(0xffff, payload.length + lie));
                  out[1] = told >> 8;
                  out[2] = told & 0xff;
                  return out;
                }),
            ),
            { maxLength: 8 },
          ),
          fc.integer({ min: 1, max: 64 }),
          (messages, maxFrame) => void readAll(messages, maxFrame),
        ),
        fcParams(params),
      ),
  },
];

fuzzTests("webrtc-framing", properties);
