// Frame vectors written out by hand from the documented layout ([version 0x01][type][fields...], varints
// unsigned LEB128, strings length-prefixed UTF-8, the payload last and unprefixed), in the style of the
// ws library's frame tests; then every way a frame can be broken, and a seeded fuzz.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  FrameType,
  JoinKind,
  NackCode,
  REQUEST_FLAGS_OFFSET,
  REQUEST_RETRIED,
  ReplyStatus,
  TUNNEL_TO_MEMBER,
  TunnelCloseCode,
  decodeFrame,
  encodeFrame,
  frameName,
  isFrameType,
  peekFrameType,
} from "../../../core/wire/frames.ts";
import type { Frame } from "../../../core/wire/frames.ts";
import { WireError } from "../../../core/wire/codec.ts";
import type { WireErrorReason } from "../../../core/wire/codec.ts";
import { fromHex, toHex } from "../../../core/util/bytes.ts";

const fill = (byte: number, length: number): Uint8Array => new Uint8Array(length).fill(byte);
const hex = (byte: string, length: number): string => byte.repeat(length);

function assertWireError(fn: () => unknown, reason: WireErrorReason, what = ""): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof WireError, `${what}: expected a WireError, got ${String(error)}`);
    assert.equal(error.reason, reason, `${what}: ${error.message}`);
    return true;
  });
}

/** Frames with byte fields replaced by their hex, so deepEqual compares bytes and nothing else. */
function plain(frame: Frame): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(frame))
    out[name] = value instanceof Uint8Array ? `hex:${toHex(value)}` : value;
  return out;
}

interface Vector {
  name: string;
  frame: Frame;
  hex: string;
  /** Ends in an unprefixed payload, so a shorter input is still a (shorter) frame. */
  routed?: boolean;
}

// 2^35 + 5: groups 5, 0, 0, 0, 0, 1.  30000 = 1*16384 + 106*128 + 48: b0 ea 01.
// 1000 = 7*128 + 104: e8 07.  2^20: 80 80 40.  2^18: 80 80 10.  2^16: 80 80 04.  16383: ff 7f.
const vectors: Vector[] = [
  {
    name: "Challenge",
    frame: { type: FrameType.Challenge, relayId: fill(0x11, 16), nonce: fill(0x22, 32) },
    hex: "01 01" + hex("11", 16) + hex("22", 32),
  },
  {
    name: "Hello",
    frame: { type: FrameType.Hello, identityKey: fill(0x33, 32), signature: fill(0x44, 64), agent: "iris/é" },
    hex: "01 02" + hex("33", 32) + hex("44", 64) + "07 69 72 69 73 2f c3a9",
  },
  {
    name: "Welcome",
    frame: { type: FrameType.Welcome, peerId: fill(0xab, 16), relayTime: 0, heartbeatMs: 1000, maxMessage: 2 ** 20 },
    hex: "01 03" + hex("ab", 16) + "00 e807 808040",
  },
  { name: "Ping", frame: { type: FrameType.Ping, stamp: 2 ** 35 + 5 }, hex: "01 04 858080808001" },
  { name: "Pong", frame: { type: FrameType.Pong, stamp: 0 }, hex: "01 05 00" },
  { name: "GoAway", frame: { type: FrameType.GoAway, reason: "bye" }, hex: "01 06 03 627965" },
  {
    name: "Join",
    frame: {
      type: FrameType.Join,
      corr: 300,
      kind: JoinKind.Subscriber,
      nameHash: fill(0x55, 32),
      publicKey: fill(0x66, 32),
      signature: fill(0x77, 64),
    },
    hex: "01 10 ac02 01" + hex("55", 32) + hex("66", 32) + hex("77", 64),
  },
  {
    name: "Leave",
    frame: { type: FrameType.Leave, corr: 1, kind: JoinKind.Member, id: fill(0x5a, 32) },
    hex: "01 11 01 00" + hex("5a", 32),
  },
  { name: "Ack", frame: { type: FrameType.Ack, corr: 2 ** 32 }, hex: "01 12 8080808010" },
  {
    name: "Nack",
    frame: { type: FrameType.Nack, corr: 7, code: NackCode.Limit, message: "too many" },
    hex: "01 13 07 02 08 746f6f206d616e79",
  },
  { name: "Load", frame: { type: FrameType.Load, id: fill(0x3c, 32), load: 127 }, hex: "01 14" + hex("3c", 32) + "7f" },
  {
    name: "Request",
    frame: {
      type: FrameType.Request,
      hops: 64,
      flags: REQUEST_RETRIED,
      id: fill(0x88, 32),
      origin: fill(0x99, 16),
      reqId: 128,
      timeoutMs: 30000,
      sealed: fromHex("deadbeef"),
    },
    hex: "01 20 40 01" + hex("88", 32) + hex("99", 16) + "8001 b0ea01 deadbeef",
    routed: true,
  },
  {
    name: "Reply",
    frame: {
      type: FrameType.Reply,
      status: ReplyStatus.Remote,
      origin: fill(0xaa, 16),
      reqId: 0,
      body: fromHex("cafe"),
    },
    hex: "01 21 01" + hex("aa", 16) + "00 cafe",
    routed: true,
  },
  {
    name: "Broadcast",
    frame: {
      type: FrameType.Broadcast,
      hops: 1,
      id: fill(0xb1, 32),
      origin: fill(0xb2, 16),
      sealed: new Uint8Array(0),
    },
    hex: "01 22 01" + hex("b1", 32) + hex("b2", 16),
    routed: true,
  },
  {
    name: "Publish",
    frame: {
      type: FrameType.Publish,
      hops: 0,
      id: fill(0xbb, 32),
      origin: fill(0xcc, 16),
      sealed: fromHex("0102030405"),
    },
    hex: "01 23 00" + hex("bb", 32) + hex("cc", 16) + "0102030405",
    routed: true,
  },
  {
    name: "TunnelOpen",
    frame: {
      type: FrameType.TunnelOpen,
      hops: 63,
      flags: 2,
      id: fill(0xc1, 32),
      origin: fill(0xc2, 16),
      tunnelId: 2,
      window: 2 ** 18,
      sealed: fromHex("aa"),
    },
    hex: "01 30 3f 02" + hex("c1", 32) + hex("c2", 16) + "02 808010 aa",
    routed: true,
  },
  {
    name: "TunnelAccept",
    frame: {
      type: FrameType.TunnelAccept,
      origin: fill(0xc3, 16),
      tunnelId: 2,
      window: 2 ** 16,
      sealed: fromHex("bb"),
    },
    hex: "01 31" + hex("c3", 16) + "02 808004 bb",
    routed: true,
  },
  {
    name: "TunnelData",
    frame: {
      type: FrameType.TunnelData,
      flags: TUNNEL_TO_MEMBER,
      origin: fill(0xdd, 16),
      tunnelId: 1,
      seq: 300,
      sealed: fromHex("ff00ff"),
    },
    hex: "01 32 01" + hex("dd", 16) + "01 ac02 ff00ff",
    routed: true,
  },
  {
    name: "TunnelCredit",
    frame: {
      type: FrameType.TunnelCredit,
      flags: 0,
      origin: fill(0xee, 16),
      tunnelId: 16383,
      granted: 2 ** 18,
      ack: 0,
    },
    hex: "01 33 00" + hex("ee", 16) + "ff7f 808010 00",
  },
  {
    name: "TunnelClose",
    frame: {
      type: FrameType.TunnelClose,
      flags: TUNNEL_TO_MEMBER,
      origin: fill(0x12, 16),
      tunnelId: 5,
      code: TunnelCloseCode.Refused,
      sent: 7,
      reason: "busy",
    },
    hex: "01 34 01" + hex("12", 16) + "05 02 07 04 62757379",
  },
  {
    name: "RelayHello",
    frame: { type: FrameType.RelayHello, flags: 1, address: "ws://a", nonce: fill(0x21, 32) },
    hex: "01 50 01 06 77733a2f2f61" + hex("21", 32),
  },
  {
    name: "RelayWelcome",
    frame: { type: FrameType.RelayWelcome, address: "", identityKey: fill(0x22, 32), signature: fill(0x23, 64) },
    hex: "01 51 00" + hex("22", 32) + hex("23", 64),
  },
  {
    name: "Relays",
    frame: {
      type: FrameType.Relays,
      relays: [
        { id: fill(0x31, 16), address: "ws://b", age: 0 },
        { id: fill(0x32, 16), address: "x", age: 300 },
      ],
    },
    hex: "01 52 02" + hex("31", 16) + "06 77733a2f2f62 00" + hex("32", 16) + "01 78 ac02",
  },
  {
    name: "TreeUpdate",
    frame: { type: FrameType.TreeUpdate, id: fill(0x41, 32), count: 3, weight: 1_000_000 },
    hex: "01 53" + hex("41", 32) + "03 c0843d",
  },
  {
    name: "Probe",
    frame: { type: FrameType.Probe, hops: 64, probeId: 1, origin: fill(0x51, 16), target: fill(0x52, 16) },
    hex: "01 54 40 01" + hex("51", 16) + hex("52", 16),
  },
  {
    name: "ProbeReply",
    frame: {
      type: FrameType.ProbeReply,
      hops: 9,
      probeId: 200,
      origin: fill(0x53, 16),
      responder: fill(0x54, 16),
      probeHops: 4,
    },
    hex: "01 55 09 c801" + hex("53", 16) + hex("54", 16) + "04",
  },
  {
    name: "Inspect",
    frame: { type: FrameType.Inspect, hops: 2, corr: 0, origin: fill(0x61, 16), target: fill(0x00, 16) },
    hex: "01 56 02 00" + hex("61", 16) + hex("00", 16),
  },
  {
    name: "InspectReply",
    frame: { type: FrameType.InspectReply, hops: 64, corr: 5, origin: fill(0x62, 16), report: "{}" },
    hex: "01 57 40 05" + hex("62", 16) + "02 7b7d",
  },
  { name: "Draining", frame: { type: FrameType.Draining }, hex: "01 58" },
  {
    name: "LinkHello",
    frame: { type: FrameType.LinkHello, ephemeral: fill(0x71, 32), mac: fill(0x72, 32) },
    hex: "01 07" + hex("71", 32) + hex("72", 32),
  },
  {
    name: "LinkWelcome",
    frame: { type: FrameType.LinkWelcome, ephemeral: fill(0x73, 32), mac: fill(0x74, 32) },
    hex: "01 08" + hex("73", 32) + hex("74", 32),
  },
];

const fixedLayout = vectors.filter((v) => !v.routed);
const routed = vectors.filter((v) => v.routed);
const vectorOf = (name: string): Vector => vectors.find((v) => v.name === name)!;

describe("frame vectors", () => {
  test("every frame type has a vector", () => {
    assert.deepEqual(new Set(vectors.map((v) => v.frame.type)), new Set(Object.values(FrameType)));
  });

  for (const v of vectors) {
    test(`${v.name} encodes to its hand-written bytes and decodes back`, () => {
      const expected = v.hex.replace(/\s+/g, "");
      assert.equal(toHex(encodeFrame(v.frame)), expected);
      assert.deepEqual(plain(decodeFrame(fromHex(expected))), plain(v.frame));
      assert.equal(peekFrameType(fromHex(expected)), v.frame.type);
      assert.equal(frameName(v.frame.type), v.name);
    });
  }

  test("Request flags sit at REQUEST_FLAGS_OFFSET, where a relay sets them in place", () => {
    const request = vectorOf("Request").frame;
    assert.ok(request.type === FrameType.Request);
    const bytes = encodeFrame({ ...request, flags: 0 });
    assert.equal(bytes[REQUEST_FLAGS_OFFSET], 0);
    bytes[REQUEST_FLAGS_OFFSET] = bytes[REQUEST_FLAGS_OFFSET]! | REQUEST_RETRIED;
    const frame = decodeFrame(bytes);
    assert.ok(frame.type === FrameType.Request);
    assert.equal(frame.flags, REQUEST_RETRIED);
    assert.equal(toHex(frame.sealed), "deadbeef");
  });

  test("payloads and ids decode as views into the input, not copies", () => {
    for (const v of routed) {
      const input = fromHex(v.hex);
      const frame = decodeFrame(input);
      for (const value of Object.values(frame)) {
        if (value instanceof Uint8Array) assert.equal(value.buffer, input.buffer, `${v.name} field`);
      }
    }
    const input = fromHex(vectorOf("Request").hex);
    const frame = decodeFrame(input);
    assert.ok(frame.type === FrameType.Request);
    assert.equal(frame.sealed.buffer, input.buffer);
    assert.equal(frame.sealed.byteOffset, input.length - 4);
  });
});

describe("broken frames", () => {
  test("every truncation of a fixed-layout frame is a truncated WireError", () => {
    for (const v of fixedLayout) {
      const bytes = fromHex(v.hex);
      for (let length = 0; length < bytes.length; length++) {
        assertWireError(() => decodeFrame(bytes.subarray(0, length)), "truncated", `${v.name} cut to ${length}`);
      }
    }
  });

  test("a routed frame cut inside its header is truncated; cut in its payload, a shorter payload", () => {
    for (const v of routed) {
      const bytes = fromHex(v.hex);
      const full = decodeFrame(bytes);
      const payloadField = "sealed" in full ? "sealed" : "body";
      const payload = (full as unknown as Record<string, Uint8Array>)[payloadField]!;
      const header = bytes.length - payload.length;
      for (let length = 0; length < bytes.length; length++) {
        const cut = bytes.subarray(0, length);
        if (length < header) {
          assertWireError(() => decodeFrame(cut), "truncated", `${v.name} cut to ${length}`);
        } else {
          const frame = decodeFrame(cut) as unknown as Record<string, Uint8Array>;
          assert.equal(toHex(frame[payloadField]!), toHex(payload.subarray(0, length - header)));
        }
      }
    }
  });

  test("trailing bytes after a fixed-layout frame are malformed", () => {
    for (const v of fixedLayout) {
      assertWireError(() => decodeFrame(fromHex(v.hex + "00")), "malformed", v.name);
      assertWireError(() => decodeFrame(fromHex(v.hex + "ffffff")), "malformed", v.name);
    }
  });

  test("unknown frame types", () => {
    for (const type of [0x00, 0x09, 0x0f, 0x15, 0x24, 0x2f, 0x35, 0x80, 0xff]) {
      const bytes = Uint8Array.of(1, type, 0, 0, 0);
      assertWireError(() => decodeFrame(bytes), "unknown-type", `type ${type}`);
      assert.equal(peekFrameType(bytes), type, "peek reads the type without judging it");
    }
  });

  test("a wrong version byte is refused before anything else", () => {
    for (const version of [0x00, 0x02, 0xff]) {
      const bytes = fromHex(vectorOf("Ping").hex);
      bytes[0] = version;
      assertWireError(() => decodeFrame(bytes), "version", `decode v${version}`);
      assertWireError(() => peekFrameType(bytes), "version", `peek v${version}`);
    }
    assertWireError(() => decodeFrame(fromHex("02")), "version");
  });

  test("peekFrameType needs a whole header", () => {
    assertWireError(() => peekFrameType(new Uint8Array(0)), "truncated");
    assertWireError(() => peekFrameType(fromHex("01")), "truncated");
  });

  test("unknown enum values are malformed", () => {
    const cases: Array<[string, string]> = [
      ["nack code 0", "01 13 07 00 00"],
      ["nack code 4", "01 13 07 04 00"],
      ["reply status 6", "01 21 06" + hex("aa", 16) + "00"],
      ["reply status 255", "01 21 ff" + hex("aa", 16) + "00"],
      ["tunnel close code 6", "01 34 01" + hex("12", 16) + "05 06 00"],
      ["join kind 2", "01 10 01 02" + hex("55", 32) + hex("66", 32) + hex("77", 64)],
      ["leave kind 2", "01 11 01 02" + hex("5a", 32)],
    ];
    for (const [what, bytes] of cases) assertWireError(() => decodeFrame(fromHex(bytes)), "malformed", what);
  });

  test("invalid UTF-8 in any string field is malformed", () => {
    const cases: Array<[string, string]> = [
      ["hello agent", "01 02" + hex("33", 32) + hex("44", 64) + "02 c328"],
      ["goaway reason", "01 06 01 ff"],
      ["nack message", "01 13 07 02 03 eda080"],
      ["tunnel close reason", "01 34 01" + hex("12", 16) + "05 02 00 01 80"],
    ];
    for (const [what, bytes] of cases) assertWireError(() => decodeFrame(fromHex(bytes)), "malformed", what);
  });

  test("length claims are checked before anything is allocated or read", () => {
    const helloPrefix = "01 02" + hex("33", 32) + hex("44", 64);
    // 2^40 = groups 0,0,0,0,0,32. Allocating that would be a RangeError, not this WireError.
    assertWireError(() => decodeFrame(fromHex(helloPrefix + "808080808020")), "oversized", "2^40");
    assertWireError(() => decodeFrame(fromHex(helloPrefix + "ffffffffffffff0f")), "oversized", "2^53-1");
    // 1025 = 8*128 + 1: one over MAX_TEXT_BYTES, all bytes present: still refused.
    assertWireError(() => decodeFrame(fromHex(helloPrefix + "8108" + hex("61", 1025))), "oversized", "1025");
    assertWireError(() => decodeFrame(fromHex("01 06 8108" + hex("61", 1025))), "oversized", "goaway 1025");
    // Within the cap but more than present.
    assertWireError(() => decodeFrame(fromHex(helloPrefix + "8008" + hex("61", 10))), "truncated", "1024 claimed");
    assertWireError(() => decodeFrame(fromHex(helloPrefix + "05 6162")), "truncated", "5 claimed");
    // Exactly the cap is fine.
    const max = decodeFrame(fromHex(helloPrefix + "8008" + hex("61", 1024)));
    assert.equal(max.type === FrameType.Hello && max.agent.length, 1024);
  });

  test("varint fields inside frames keep the varint rules", () => {
    assertWireError(() => decodeFrame(fromHex("01 12 8000")), "malformed", "non-minimal corr");
    assertWireError(() => decodeFrame(fromHex("01 12 808080808080808001")), "malformed", "9-byte corr");
    assertWireError(() => decodeFrame(fromHex("01 04 8080808080808010")), "oversized", "2^53 stamp");
  });

  test("a leading U+FEFF in a string survives the round trip", () => {
    const frame: Frame = { type: FrameType.GoAway, reason: "\uFEFFbye" };
    const bytes = encodeFrame(frame);
    assert.equal(toHex(bytes), "0106" + "06" + "efbbbf627965");
    assert.deepEqual(decodeFrame(bytes), frame);
  });
});

describe("fuzz", () => {
  // mulberry32: small, seeded, good enough to spread inputs.
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Decodes or throws WireError, nothing else; a decoded frame re-encodes to the very same bytes. */
  function check(input: Uint8Array, stats: { ok: number; refused: number }): void {
    let frame: Frame;
    try {
      frame = decodeFrame(input);
    } catch (error) {
      if (!(error instanceof WireError)) assert.fail(`${toHex(input)} threw ${String(error)}`);
      stats.refused++;
      return;
    }
    stats.ok++;
    assert.equal(toHex(encodeFrame(frame)), toHex(input), "decode then encode is the identity");
  }

  test("random bytes only ever decode or throw WireError", () => {
    const random = prng(0x1e15);
    const types = Object.values(FrameType);
    const stats = { ok: 0, refused: 0 };
    for (let i = 0; i < 4000; i++) {
      const input = new Uint8Array(Math.floor(random() * 160));
      for (let j = 0; j < input.length; j++) input[j] = Math.floor(random() * 256);
      // Most inputs get a valid header, so the fields behind it are exercised too.
      if (input.length >= 2 && random() < 0.8) {
        input[0] = 1;
        input[1] = types[Math.floor(random() * types.length)]!;
      }
      check(input, stats);
    }
    assert.ok(stats.ok > 100 && stats.refused > 100, `both outcomes reached: ${JSON.stringify(stats)}`);
  });

  test("mutated vectors only ever decode or throw WireError", () => {
    const random = prng(42);
    const stats = { ok: 0, refused: 0 };
    for (let i = 0; i < 4000; i++) {
      const base = fromHex(vectors[i % vectors.length]!.hex);
      let input = base.slice();
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * input.length);
        const choice = random();
        if (choice < 0.6) input[at] = Math.floor(random() * 256);
        else if (choice < 0.8) input = input.slice(0, at);
        else input = Uint8Array.of(...input, Math.floor(random() * 256));
      }
      check(input, stats);
    }
    assert.ok(stats.ok > 100 && stats.refused > 100, `both outcomes reached: ${JSON.stringify(stats)}`);
  });
});

test("every frame type of the catalogue has exactly one codec, and no other type code does", () => {
  for (const [name, type] of Object.entries(FrameType)) assert.ok(isFrameType(type), `${name} has no codec`);
  const known = new Set<number>(Object.values(FrameType));
  for (let code = 0; code < 256; code++) assert.equal(isFrameType(code), known.has(code), `type code ${code}`);
});
