// parseSignal under attack. Signals come from another peer (unsealed, then JSON.parse): any JSON value at
// all either parses to a signal of exactly the documented shape, within the documented limits, or
// throws ProtocolError. A parsed signal survives a JSON round trip and parses to itself again, so what
// we act on is what we checked.

import assert from "node:assert/strict";
import fc from "fast-check";
import { SIGNAL_LIMITS, parseCandidate, parseSignal } from "../../../core/transports/webrtc-signals.ts";
import type { WebRtcSignal } from "../../../core/transports/webrtc-signals.ts";
import { ProtocolError } from "../../../core/errors.ts";
import { fcParams, fuzzTests, describeError } from "../../fuzz/harness.ts";
import type { FuzzProperty } from "../../fuzz/harness.ts";
import { mutate, mutations } from "../../fuzz/frame-arbitraries.ts";

/** The fields each type may carry, and nothing else. */
const SHAPES: Record<WebRtcSignal["type"], string[]> = {
  offer: ["type", "sdp"],
  answer: ["type", "sdp"],
  candidate: ["type", "candidate", "sdpMid", "sdpMLineIndex"],
  "end-of-candidates": ["type"],
  abort: ["type", "reason"],
};

/** The contract: a signal of an exact, bounded shape that re-parses to itself, or a ProtocolError. */
function parseOrRefuse(value: unknown): WebRtcSignal | ProtocolError {
  let signal: WebRtcSignal;
  try {
    signal = parseSignal(value);
  } catch (error) {
    assert.ok(
      error instanceof ProtocolError,
      `parseSignal(${JSON.stringify(value)?.slice(0, 200)}) threw ${describeError(error)}`,
    );
    assert.ok(error.message.length < 400, "an error message that echoes unbounded input");
    return error;
  }
  assert.deepEqual(Object.keys(signal).sort(), [...SHAPES[signal.type]].sort(), `${signal.type} with other fields`);
  switch (signal.type) {
    case "offer":
    case "answer":
      assert.ok(typeof signal.sdp === "string" && signal.sdp.length <= SIGNAL_LIMITS.sdp);
      break;
    case "candidate": {
      assert.ok(signal.candidate.length <= SIGNAL_LIMITS.candidate && parseCandidate(signal.candidate) !== null);
      assert.ok(
        signal.sdpMid === null || (typeof signal.sdpMid === "string" && signal.sdpMid.length <= SIGNAL_LIMITS.mid),
      );
      const index = signal.sdpMLineIndex;
      assert.ok(index === null || (Number.isInteger(index) && index >= 0 && index < 1024));
      break;
    }
    case "abort":
      assert.ok(typeof signal.reason === "string" && signal.reason.length <= SIGNAL_LIMITS.reason);
      break;
  }
  assert.deepEqual(
    parseSignal(JSON.parse(JSON.stringify(signal))),
    signal,
    "a parsed signal does not re-parse to itself",
  );
  return signal;
}

const candidateLine = fc
  .record({
    foundation: fc.stringMatching(/^[a-zA-Z0-9+/]{1,12}$/),
    component: fc.integer({ min: 0, max: 300 }),
    protocol: fc.constantFrom("udp", "UDP", "tcp", "sctp"),
    priority: fc.nat(),
    address: fc.constantFrom("127.0.0.1", "::1", "a3f1c2d0-0000-4000-8000-000000000000.local", "10.0.0.1"),
    port: fc.integer({ min: 0, max: 65535 }),
    type: fc.constantFrom("host", "srflx", "prflx", "relay"),
    tail: fc.constantFrom("", " generation 0", " raddr 0.0.0.0 rport 0", " tcptype passive"),
  })
  .map(
    (c) =>
      `candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}${c.tail}`,
  );

/** Strings around each limit, and odd ones. */
const text = (limit: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom(limit - 1, limit, limit + 1).map((n) => "x".repeat(Math.max(0, n))),
    fc.constantFrom(null, undefined, 0, 1.5, true, [], {}, ["v=0"], { toString: "x" }),
  );

/** Objects shaped like signals, each field sometimes right, sometimes wrong, sometimes missing. */
const nearSignal: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom("offer", "answer", "candidate", "end-of-candidates", "abort"),
      fc.constantFrom("Offer", "", "candidate ", "__proto__", "constructor", "toString"),
      fc.constantFrom(null, 1, [], {}, ["offer"]),
      // JSON.parse makes these from '{"toString": 1}' and the like: objects that String() cannot convert.
      fc.constantFrom({ toString: 1 }, { toString: "offer" }, { valueOf: 1, toString: null }),
    ),
    sdp: text(SIGNAL_LIMITS.sdp),
    candidate: fc.oneof(
      candidateLine,
      candidateLine.map((line) => `a=${line}`),
      text(SIGNAL_LIMITS.candidate),
    ),
    sdpMid: fc.oneof(fc.constantFrom("0", "data"), text(SIGNAL_LIMITS.mid)),
    sdpMLineIndex: fc.oneof(
      fc.integer({ min: -2, max: 1026 }),
      fc.constantFrom(0.5, NaN, Infinity, "0", null, undefined, 2 ** 53),
    ),
    reason: text(SIGNAL_LIMITS.reason),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

const properties: FuzzProperty[] = [
  {
    name: "any JSON value parses to an exact, bounded signal or throws ProtocolError",
    runs: 6_000,
    check: (params) =>
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => void parseOrRefuse(value)),
        fcParams(params),
      ),
  },
  {
    name: "near-valid signals (every field right, wrong, missing or at its limit) parse exactly or throw ProtocolError",
    runs: 8_000,
    check: (params) => {
      let parsed = 0;
      fc.assert(
        fc.property(nearSignal, (value) => {
          if (!(parseOrRefuse(value) instanceof ProtocolError)) parsed++;
        }),
        fcParams(params),
      );
      assert.ok(
        parsed >= params.numRuns / 20,
        `only ${parsed} of ${params.numRuns} near-valid signals parsed: the generator is off`,
      );
    },
  },
  {
    name: "mutated signal texts that still are JSON parse exactly or throw ProtocolError",
    runs: 5_000,
    check: (params) =>
      fc.assert(
        fc.property(nearSignal, mutations, (value, edits) => {
          const bytes = mutate(new TextEncoder().encode(JSON.stringify(value)), edits);
          let json: unknown;
          try {
            json = JSON.parse(new TextDecoder().decode(bytes));
          } catch {
            return; // not JSON: the layer below refuses it before parseSignal sees it
          }
          parseOrRefuse(json);
        }),
        fcParams(params),
      ),
  },
];

fuzzTests("parseSignal", properties);
