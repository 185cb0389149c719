// Forward-secret sessions under attack. The other side's ephemeral key arrives over the network (sealed,
// but a hostile key holder chooses it): SessionHandshake.finish() with any bytes at all either gives a
// cipher or throws ProtocolError, and refuses every low-order point, whose shared secret an attacker
// would know. SessionCipher.open() with any box under any counter opens exactly what was sealed there,
// or throws ProtocolError: a box that was changed, or moved to another counter, never opens.

import assert from "node:assert/strict";
import fc from "fast-check";
import type { SessionCipher } from "../../../core/crypto/session.ts";
import { SessionHandshake } from "../../../core/crypto/session.ts";
import { ProtocolError } from "../../../core/errors.ts";
import { equalBytes, fromHex } from "../../../core/util/bytes.ts";
import { fcParams, fuzzTests, unitTest, describeError, preview, thrownBy } from "../../fuzz/harness.ts";
import type { FuzzProperty } from "../../fuzz/harness.ts";
import { bytes, mutate, mutations } from "../../fuzz/frame-arbitraries.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

const LABEL = "tunnel";

/**
 * Curve25519 points of small order, and the same points spelled with the top bit set or as values at
 * or past p (X25519 ignores the top bit and reduces mod p). Each gives an all-zero shared secret.
 */
const LOW_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0100000000000000000000000000000000000000000000000000000000000080",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
].map(fromHex);

/** The contract of finish(): a cipher, or a ProtocolError. */
function finishOrRefuse(handshake: SessionHandshake, peerKey: Uint8Array): SessionCipher | ProtocolError {
  try {
    return handshake.finish(peerKey);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `finish(${preview(peerKey)}) threw ${describeError(error)}`);
    return error;
  }
}

/** The contract of open(): the plaintext, or a ProtocolError. */
function openOrRefuse(cipher: SessionCipher, box: Uint8Array, seq: number): Uint8Array | ProtocolError {
  try {
    return cipher.open(box, seq);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `open(${preview(box)}, ${seq}) threw ${describeError(error)}`);
    return error;
  }
}

/** What the other side may send as its key: random bytes of any length, low-order points, a real key bent. */
type PeerKey =
  | { kind: "random"; bytes: Uint8Array }
  | { kind: "low-order"; index: number }
  | { kind: "bent"; edits: Parameters<typeof mutate>[1] };
const peerKey: fc.Arbitrary<PeerKey> = fc.oneof(
  fc.record({ kind: fc.constant("random" as const), bytes: fc.oneof(bytes(32), fc.uint8Array({ maxLength: 64 })) }),
  fc.record({ kind: fc.constant("low-order" as const), index: fc.nat({ max: LOW_ORDER.length - 1 }) }),
  fc.record({ kind: fc.constant("bent" as const), edits: mutations }),
);

const psk = bytes(32);

const properties: FuzzProperty[] = [
  {
    name: "finish() with any peer key gives a cipher or ProtocolError; low-order and mis-sized keys are refused",
    runs: 600,
    check: (params) =>
      fc.assert(
        fc.property(psk, peerKey, fc.boolean(), (key, peer, initiator) => {
          const ours = new SessionHandshake(initiator ? "initiator" : "responder", key, LABEL, testCrypto.secretbox);
          const theirs = new SessionHandshake(initiator ? "responder" : "initiator", key, LABEL, testCrypto.secretbox);
          const sent =
            peer.kind === "random"
              ? peer.bytes
              : peer.kind === "low-order"
                ? LOW_ORDER[peer.index]!
                : mutate(theirs.publicKey, peer.edits);
          const outcome = finishOrRefuse(ours, sent);
          if (peer.kind === "low-order" || sent.length !== 32) {
            assert.ok(outcome instanceof ProtocolError, `accepted ${preview(sent)} as a peer key`);
            return;
          }
          if (outcome instanceof ProtocolError) return;
          // Whatever key it accepted, only the real peer's key gives a cipher the peer can talk to.
          const peerCipher = theirs.finish(ours.publicKey);
          const { seq, box } = peerCipher.seal(Uint8Array.of(1, 2, 3));
          const opened = openOrRefuse(outcome, box, seq);
          assert.equal(
            opened instanceof Uint8Array,
            equalBytes(sent, theirs.publicKey),
            "a bent key still agreed with the peer",
          );
        }),
        fcParams(params),
      ),
  },
  {
    name: "open() gives exactly what was sealed under that counter, and ProtocolError for any change of box or counter",
    runs: 6_000,
    check: (params) => {
      // One session for the whole run: open() keeps no state, so cases cannot disturb each other.
      const a = new SessionHandshake("initiator", new Uint8Array(32).fill(7), LABEL, testCrypto.secretbox);
      const b = new SessionHandshake("responder", new Uint8Array(32).fill(7), LABEL, testCrypto.secretbox);
      const sender = a.finish(b.publicKey);
      const receiver = b.finish(a.publicKey);
      return fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          fc.option(mutations, { nil: undefined }),
          fc.option(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.maxSafeNat()), { nil: undefined }),
          (plain, edits, moved) => {
            const { seq, box } = sender.seal(plain);
            const bent = edits ? mutate(box, edits) : box;
            const at =
              moved === undefined
                ? seq
                : Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, moved < 4 ? seq + moved : moved));
            const outcome = openOrRefuse(receiver, bent, at);
            if (at === seq && equalBytes(bent, box)) {
              assert.ok(outcome instanceof Uint8Array && equalBytes(outcome, plain), "an untouched box did not open");
            } else {
              assert.ok(outcome instanceof ProtocolError, `a box changed or moved from ${seq} to ${at} opened`);
            }
            // Nor does our own direction's key open what we sealed: the two directions are separate.
            assert.ok(
              openOrRefuse(sender, box, seq) instanceof ProtocolError,
              "a box opened under the sender's receive key",
            );
          },
        ),
        fcParams(params),
      );
    },
  },
];

fuzzTests("session", properties);

unitTest("fuzz: every low-order point is refused by both roles", () => {
  for (const role of ["initiator", "responder"] as const) {
    for (const point of LOW_ORDER) {
      const error = thrownBy(() =>
        new SessionHandshake(role, new Uint8Array(32), LABEL, testCrypto.secretbox).finish(point),
      );
      assert.ok(error instanceof ProtocolError, `${role}: ${describeError(error)}`);
    }
  }
});
