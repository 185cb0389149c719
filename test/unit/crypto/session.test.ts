// Forward-secret sessions: matching ciphers, strict order, handshake failures, and what a recording is
// worth to someone who holds the pre-shared key.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { SessionCipher } from "../../../core/crypto/session.ts";
import { EPHEMERAL_KEY_BYTES, SessionHandshake } from "../../../core/crypto/session.ts";
import { fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { ProtocolError } from "../../../core/errors.ts";
import { testCrypto } from "../../fixtures/crypto.ts";

const psk = new Uint8Array(32).map((_, i) => 0x40 + i);
const label = "tunnel";
const text = new TextDecoder();

interface Pair {
  initiator: SessionCipher;
  responder: SessionCipher;
  initiatorPublic: Uint8Array;
  responderPublic: Uint8Array;
}

function handshake(initiatorPsk = psk, responderPsk = psk, initiatorLabel = label, responderLabel = label): Pair {
  const a = new SessionHandshake("initiator", initiatorPsk, initiatorLabel, testCrypto.secretbox);
  const b = new SessionHandshake("responder", responderPsk, responderLabel, testCrypto.secretbox);
  return {
    initiatorPublic: a.publicKey,
    responderPublic: b.publicKey,
    initiator: a.finish(b.publicKey),
    responder: b.finish(a.publicKey),
  };
}

function assertProtocolError(fn: () => unknown, what: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `${what}: expected ProtocolError, got ${String(error)}`);
    assert.equal(error.code, "PROTOCOL");
    return true;
  });
}

describe("SessionHandshake", () => {
  test("each side has a fresh 32-byte ephemeral key", () => {
    const a = new SessionHandshake("initiator", psk, label, testCrypto.secretbox);
    const b = new SessionHandshake("initiator", psk, label, testCrypto.secretbox);
    assert.equal(a.publicKey.length, EPHEMERAL_KEY_BYTES);
    assert.notEqual(toHex(a.publicKey), toHex(b.publicKey));
  });

  test("low-order and malformed peer keys are refused", () => {
    const lowOrder = [
      "00".repeat(32), // zero
      "01" + "00".repeat(31), // order 4
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1
    ];
    for (const key of lowOrder) {
      assertProtocolError(
        () => new SessionHandshake("initiator", psk, label, testCrypto.secretbox).finish(fromHex(key)),
        `low order ${key}`,
      );
    }
    for (const length of [0, 31, 33]) {
      assertProtocolError(
        () =>
          new SessionHandshake("responder", psk, label, testCrypto.secretbox).finish(new Uint8Array(length).fill(9)),
        `length ${length}`,
      );
    }
  });

  test("finish works once", () => {
    const a = new SessionHandshake("initiator", psk, label, testCrypto.secretbox);
    const b = new SessionHandshake("responder", psk, label, testCrypto.secretbox);
    a.finish(b.publicKey);
    assert.throws(() => a.finish(b.publicKey), /already finished/);
    // A failed finish also uses the handshake up.
    const c = new SessionHandshake("initiator", psk, label, testCrypto.secretbox);
    assert.throws(() => c.finish(new Uint8Array(32)), ProtocolError);
    assert.throws(() => c.finish(b.publicKey), /already finished/);
  });
});

describe("SessionCipher", () => {
  /** Seals and opens under the counter the box was sealed with, as a receiver that knows it does. */
  const roundTrip = (from: SessionCipher, to: SessionCipher, message: Uint8Array) => {
    const { seq, box } = from.seal(message);
    return to.open(box, seq);
  };

  test("messages open under their counters, both directions, interleaved", () => {
    const { initiator, responder } = handshake();
    for (let i = 0; i < 50; i++) {
      assert.equal(text.decode(roundTrip(initiator, responder, utf8(`to responder ${i}`))), `to responder ${i}`);
      if (i % 3 === 0)
        assert.equal(text.decode(roundTrip(responder, initiator, utf8(`to initiator ${i}`))), `to initiator ${i}`);
    }
    assert.equal(initiator.sent, 50);
    assert.equal(responder.sent, 17);
  });

  test("counters count from 0 per direction, and a burst opens in any order under its counters", () => {
    const { initiator, responder } = handshake();
    const sealed = Array.from({ length: 10 }, (_, i) => initiator.seal(Uint8Array.of(i)));
    assert.deepEqual(
      sealed.map((s) => s.seq),
      Array.from({ length: 10 }, (_, i) => i),
    );
    const reversed = [...sealed].reverse();
    assert.deepEqual(
      reversed.map(({ seq, box }) => responder.open(box, seq)[0]),
      Array.from({ length: 10 }, (_, i) => 9 - i),
    );
  });

  test("the same plaintext seals differently each time (counter nonces)", () => {
    const { initiator } = handshake();
    assert.notEqual(toHex(initiator.seal(utf8("same")).box), toHex(initiator.seal(utf8("same")).box));
  });

  test("the two directions use different keys", () => {
    const { initiator, responder } = handshake();
    const { seq, box } = initiator.seal(utf8("mine"));
    // The initiator cannot open its own message as if it came from the responder.
    assertProtocolError(() => initiator.open(box, seq), "reflected");
    assert.equal(text.decode(responder.open(box, seq)), "mine");
  });

  test("a box moved to another counter does not open: a relay cannot renumber pieces", () => {
    const { initiator, responder } = handshake();
    const first = initiator.seal(utf8("first"));
    const second = initiator.seal(utf8("second"));
    assertProtocolError(() => responder.open(second.box, first.seq), "second under the first's counter");
    assertProtocolError(() => responder.open(first.box, second.seq), "first under the second's counter");
    assertProtocolError(() => responder.open(first.box, 1_000_000), "far ahead");
    assert.equal(text.decode(responder.open(first.box, first.seq)), "first");
    assert.equal(text.decode(responder.open(second.box, second.seq)), "second");
  });

  test("any flipped bit fails, and so does a truncated or empty box", () => {
    const { initiator, responder } = handshake();
    const { seq, box } = initiator.seal(utf8("integrity"));
    for (let i = 0; i < box.length; i++) {
      const tampered = box.slice();
      tampered[i] = tampered[i]! ^ (1 << (i % 8));
      assertProtocolError(() => responder.open(tampered, seq), `byte ${i}`);
    }
    assertProtocolError(() => responder.open(box.subarray(0, box.length - 1), seq), "truncated");
    assertProtocolError(() => responder.open(new Uint8Array(0), seq), "empty");
    assert.equal(text.decode(responder.open(box, seq)), "integrity", "the untouched box still opens");
  });

  test("a different psk, a different label or a role mix-up gives keys that do not match", () => {
    const otherPsk = psk.slice();
    otherPsk[0] = otherPsk[0]! ^ 1;
    const cases: Array<[string, Pair]> = [
      ["psk", handshake(psk, otherPsk)],
      ["label", handshake(psk, psk, "tunnel", "link")],
    ];
    const a = new SessionHandshake("initiator", psk, label, testCrypto.secretbox);
    const b = new SessionHandshake("initiator", psk, label, testCrypto.secretbox);
    cases.push([
      "two initiators",
      {
        initiator: a.finish(b.publicKey),
        responder: b.finish(a.publicKey),
        initiatorPublic: a.publicKey,
        responderPublic: b.publicKey,
      },
    ]);
    for (const [what, pair] of cases) {
      assertProtocolError(() => roundTrip(pair.initiator, pair.responder, utf8("x")), `${what}: one way`);
      assertProtocolError(() => roundTrip(pair.responder, pair.initiator, utf8("x")), `${what}: other way`);
    }
  });
});

describe("forward secrecy", () => {
  test("the psk and the recorded public keys do not open a recorded session", () => {
    // Record everything on the wire: both ephemeral public keys and the sealed traffic.
    const session = handshake();
    const toResponder = [utf8("secret one"), utf8("secret two")].map((m) => session.initiator.seal(m));
    const toInitiator = [utf8("secret reply")].map((m) => session.responder.seal(m));
    const opens = (cipher: SessionCipher, sealed: { seq: number; box: Uint8Array }) =>
      cipher.open(sealed.box, sealed.seq);

    // The eavesdropper learns the psk and replays the handshake as either side, against the recorded keys.
    const attempts: Array<[string, SessionCipher]> = [
      [
        "as responder",
        new SessionHandshake("responder", psk, label, testCrypto.secretbox).finish(session.initiatorPublic),
      ],
      [
        "as initiator",
        new SessionHandshake("initiator", psk, label, testCrypto.secretbox).finish(session.responderPublic),
      ],
      [
        "as responder, keyed to the responder",
        new SessionHandshake("responder", psk, label, testCrypto.secretbox).finish(session.responderPublic),
      ],
      [
        "as initiator, keyed to the initiator",
        new SessionHandshake("initiator", psk, label, testCrypto.secretbox).finish(session.initiatorPublic),
      ],
    ];
    for (const [what, eve] of attempts) {
      assertProtocolError(() => opens(eve, toResponder[0]!), `${what}: initiator's traffic`);
      assertProtocolError(() => opens(eve, toInitiator[0]!), `${what}: responder's traffic`);
    }

    // The real ends still read it all, so the recording itself is sound.
    assert.equal(text.decode(opens(session.responder, toResponder[0]!)), "secret one");
    assert.equal(text.decode(opens(session.responder, toResponder[1]!)), "secret two");
    assert.equal(text.decode(opens(session.initiator, toInitiator[0]!)), "secret reply");
  });

  test("two sessions under one psk have unrelated keys", () => {
    const one = handshake();
    const two = handshake();
    const { seq, box } = one.initiator.seal(utf8("session one"));
    assertProtocolError(() => two.responder.open(box, seq), "other session");
    assert.equal(text.decode(one.responder.open(box, seq)), "session one");
  });
});
