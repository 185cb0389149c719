// Forward secrecy, against a real relay's recording: an attacker who taps every frame of a tunnel
// session and later obtains the cluster key reads the handshake (which the cluster key seals) but not
// one byte of the session. Relayed requests in the same recording, sealed with the cluster key alone,
// do open: that is the line SECURITY.md draws between the two.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { deriveServiceKeys, parseKey } from "../../core/crypto/keys.ts";
import { open } from "../../core/crypto/seal.ts";
import { EPHEMERAL_KEY_BYTES, SessionHandshake } from "../../core/crypto/session.ts";
import type { SessionCipher } from "../../core/crypto/session.ts";
import { FrameType, decodeFrame } from "../../core/wire/frames.ts";
import type { Frame } from "../../core/wire/frames.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { tapFile } from "../fixtures/tap.ts";
import { testCrypto } from "../fixtures/crypto.ts";

const clusterKey = generateKey();
const SECRET = "SECRET-5d1e8c0f-";
const MESSAGES = 10;
const text = new TextDecoder();

function framesOfType<T extends Frame["type"]>(frames: Frame[], type: T): Array<Extract<Frame, { type: T }>> {
  return frames.filter((frame): frame is Extract<Frame, { type: T }> => frame.type === type);
}

function opens(attempt: () => Uint8Array | null): boolean {
  try {
    return attempt() !== null;
  } catch {
    return false;
  }
}

describe("forward secrecy of tunnel sessions", () => {
  let tap: Awaited<ReturnType<typeof tapFile>>;
  let relay: RelayProcess;
  let member: Connection;
  let caller: Connection;

  before(async () => {
    tap = await tapFile();
    relay = await startRelay(["--tap", tap.path]);
    const options = { relays: [relay.url], keys: { vault: clusterKey }, compressAbove: Infinity };
    member = await connect(options);
    caller = await connect(options);
    await member.register("vault", {
      request: (body) => body,
      tunnel: async (tunnel) => {
        for await (const message of tunnel) await tunnel.send(message);
      },
    });
  });

  after(async () => {
    await caller?.close();
    await member?.close();
    await relay?.stop();
    await tap?.remove();
  });

  test("a recorded tunnel session does not open with the cluster key handed over afterwards", {
    timeout: 30_000,
  }, async () => {
    const tunnel = await caller.tunnel("vault");
    for (let i = 0; i < MESSAGES; i++) {
      await tunnel.send(`${SECRET}${i}`);
      assert.equal(text.decode((await tunnel.receive())!), `${SECRET}${i}`, "the ends read their session");
    }
    await tunnel.close();
    await caller.request("vault", `${SECRET}request`);
    await relay.stop();

    // Every frame the relay received, as the attacker recorded it.
    const recorded = (await tap.frames())
      .filter((frame) => frame.direction === "in")
      .map((frame) => decodeFrame(frame.bytes));
    const data = framesOfType(recorded, FrameType.TunnelData);
    assert.equal(data.length, 2 * MESSAGES, "both directions of the session are in the recording");

    // Later, the attacker obtains the cluster key. The handshake opens: it learns both ephemeral public keys.
    const vault = deriveServiceKeys(testCrypto.signing, "cluster", "vault", parseKey(clusterKey));
    const [openFrame] = framesOfType(recorded, FrameType.TunnelOpen);
    const [acceptFrame] = framesOfType(recorded, FrameType.TunnelAccept);
    assert.ok(openFrame && acceptFrame, "the handshake is in the recording");
    const callerPublic = open(testCrypto, vault.payloadKey, openFrame.sealed, 1 << 20).body.subarray(
      0,
      EPHEMERAL_KEY_BYTES,
    );
    const memberPublic = open(testCrypto, vault.payloadKey, acceptFrame.sealed, 1 << 20).body.subarray(
      0,
      EPHEMERAL_KEY_BYTES,
    );

    // Everything it can try with what it holds: the cluster key's sealing, and the handshake replayed as
    // either side against the recorded public keys (its own ephemeral secret in place of the lost one).
    const attempts: Array<[string, (seq: number, box: Uint8Array) => Uint8Array | null]> = [
      ["the payload key", (_seq, box) => open(testCrypto, vault.payloadKey, box, 1 << 20).body],
      [
        "the payload key with a counter nonce",
        (seq, box) => testCrypto.secretbox.open(box, counterNonce(seq), vault.payloadKey),
      ],
    ];
    const replayed: Array<[string, SessionCipher]> = [
      [
        "posing as the member",
        new SessionHandshake("responder", vault.payloadKey, "tunnel", testCrypto.secretbox).finish(callerPublic),
      ],
      [
        "posing as the caller",
        new SessionHandshake("initiator", vault.payloadKey, "tunnel", testCrypto.secretbox).finish(memberPublic),
      ],
    ];
    for (const [what, cipher] of replayed) attempts.push([what, (seq, box) => cipher.open(box, seq)]);
    for (const frame of data) {
      for (const [what, attempt] of attempts) {
        assert.equal(
          opens(() => attempt(frame.seq, frame.sealed)),
          false,
          `piece ${frame.seq} opened with ${what}`,
        );
      }
      assert.ok(!Buffer.from(frame.sealed).includes(Buffer.from(SECRET)), "no plaintext in a piece");
    }

    // The same key does open the relayed request in the same recording: the recording and the key are
    // genuine, and the session's secrecy comes from the ephemeral keys that are gone.
    const requests = framesOfType(recorded, FrameType.Request);
    assert.equal(requests.length, 1);
    assert.equal(
      text.decode(open(testCrypto, vault.payloadKey, requests[0]!.sealed, 1 << 20).body),
      `${SECRET}request`,
    );
  });
});

function counterNonce(seq: number): Uint8Array {
  const nonce = new Uint8Array(24);
  new DataView(nonce.buffer).setUint32(0, seq, true);
  return nonce;
}
