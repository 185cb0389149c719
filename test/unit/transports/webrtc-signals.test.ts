// The WebRTC signal checks and SDP helpers: what a relayed signal may look like, candidate parsing and
// filtering (in trickled candidates and inside SDP), and DTLS fingerprint extraction.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError } from "../../../core/errors.ts";
import {
  extractFingerprints,
  filterSdpCandidates,
  onlyAddresses,
  parseCandidate,
  parseSignal,
  SIGNAL_LIMITS,
} from "../../../core/transports/webrtc-signals.ts";

const HOST = "candidate:1623563553 1 udp 2122194687 127.0.0.1 47130 typ host generation 0 ufrag Q4eN network-id 3";
const OTHER = "candidate:3472360109 1 udp 2122063615 192.0.2.2 60922 typ host generation 0 ufrag Q4eN network-id 1";
const MDNS =
  "candidate:1690380434 1 udp 2113937151 2b79dae4-f16e-47e0-b5fd-1d2f844f63b2.local 60869 typ host generation 0";
const FINGERPRINT =
  "sha-256 A7:62:6D:96:84:B6:8B:D6:98:20:76:23:45:9D:CD:A2:7A:8D:96:61:A6:F0:4B:37:23:63:D2:DF:98:C4:50:2A";

const SDP = [
  "v=0",
  "o=- 1 0 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  `a=fingerprint:${FINGERPRINT.toLowerCase().replace("sha-256", "SHA-256")}`,
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  `a=${HOST}`,
  `a=${OTHER}`,
  "a=end-of-candidates",
  `a=fingerprint:${FINGERPRINT}`,
  "a=sctp-port:5000",
  "",
].join("\r\n");

describe("WebRTC signals", () => {
  test("well-formed signals pass through in their exact shape, unknown fields dropped", () => {
    assert.deepEqual(parseSignal({ type: "offer", sdp: "v=0", extra: 1 }), { type: "offer", sdp: "v=0" });
    assert.deepEqual(parseSignal({ type: "candidate", candidate: HOST, sdpMid: "0", sdpMLineIndex: 0 }), {
      type: "candidate",
      candidate: HOST,
      sdpMid: "0",
      sdpMLineIndex: 0,
    });
    assert.deepEqual(parseSignal({ type: "candidate", candidate: HOST }), {
      type: "candidate",
      candidate: HOST,
      sdpMid: null,
      sdpMLineIndex: null,
    });
    assert.deepEqual(parseSignal({ type: "end-of-candidates" }), { type: "end-of-candidates" });
    assert.deepEqual(parseSignal({ type: "abort" }), { type: "abort", reason: "" });
    const signal = { type: "answer", sdp: SDP } as const;
    assert.deepEqual(parseSignal(JSON.parse(JSON.stringify(signal))), signal, "survives JSON");
  });

  const bad: Array<[string, unknown]> = [
    ["null", null],
    ["a string", "offer"],
    ["an unknown type", { type: "hello" }],
    ["an offer without sdp", { type: "offer" }],
    ["an oversized sdp", { type: "offer", sdp: "x".repeat(SIGNAL_LIMITS.sdp + 1) }],
    ["a candidate that is not one", { type: "candidate", candidate: "candidate:nonsense" }],
    ["a negative sdpMLineIndex", { type: "candidate", candidate: HOST, sdpMLineIndex: -1 }],
    ["a numeric sdpMid", { type: "candidate", candidate: HOST, sdpMid: 0 }],
    ["an oversized abort reason", { type: "abort", reason: "x".repeat(SIGNAL_LIMITS.reason + 1) }],
  ];
  for (const [what, value] of bad) {
    test(`refuses ${what} with ProtocolError`, () => {
      assert.throws(() => parseSignal(value), ProtocolError);
    });
  }
});

describe("ICE candidates", () => {
  test("parses the fields a filter needs, from trickle or SDP form", () => {
    assert.deepEqual(parseCandidate(HOST), {
      foundation: "1623563553",
      component: 1,
      protocol: "udp",
      priority: 2122194687,
      address: "127.0.0.1",
      port: 47130,
      type: "host",
    });
    assert.equal(parseCandidate(`a=${OTHER}`)?.address, "192.0.2.2");
    assert.equal(parseCandidate(MDNS)?.address, "2b79dae4-f16e-47e0-b5fd-1d2f844f63b2.local");
    assert.equal(parseCandidate("a=end-of-candidates"), null);
  });

  test("onlyAddresses keeps the listed addresses, whatever the origin", () => {
    const keep = onlyAddresses(["127.0.0.1"]);
    assert.equal(keep(parseCandidate(HOST)!, "local"), true);
    assert.equal(keep(parseCandidate(OTHER)!, "remote"), false);
    assert.equal(keep(parseCandidate(MDNS)!, "remote"), false);
  });

  test("filterSdpCandidates drops rejected candidate lines and keeps every other line and the line ends", () => {
    const filtered = filterSdpCandidates(SDP, onlyAddresses(["127.0.0.1"]), "remote");
    assert.equal(filtered, SDP.replace(`a=${OTHER}\r\n`, ""));
    assert.equal(filterSdpCandidates(SDP, undefined, "local"), SDP, "no filter, no change");
    const seen: string[] = [];
    filterSdpCandidates(
      SDP,
      (candidate, origin) => {
        seen.push(`${origin} ${candidate.address}`);
        return true;
      },
      "local",
    );
    assert.deepEqual(seen, ["local 127.0.0.1", "local 192.0.2.2"]);
  });

  test("extractFingerprints normalizes case and removes duplicates", () => {
    assert.deepEqual(extractFingerprints(SDP), [FINGERPRINT]);
    assert.deepEqual(extractFingerprints("v=0\r\n"), []);
  });
});
