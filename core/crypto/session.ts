// Forward-secret sessions for tunnels (and, later, direct links): the Noise NNpsk0 idea in NaCl terms.
//
// Each side makes an ephemeral X25519 key pair and sends its public half sealed under the service key,
// which authenticates it (only key holders can seal). Both compute the X25519 shared secret and derive
// one key per direction with HKDF, salted with the service key and bound to both public halves. The
// ephemeral secrets are dropped at once: a recording of the session stays unreadable even to someone
// who later learns the service key.
//
// Within a session, nonces are counters (safe: each key has one sender). A message opens only under the
// counter it was sealed with, so the receiver knows each message's place for certain and can restore
// the order, drop repeats and notice gaps.

import { concat, utf8 } from "../util/bytes.ts";
import { ProtocolError } from "../errors.ts";
import { hkdf } from "./keys.ts";
import { SECRETBOX_NONCE_BYTES, SECRETBOX_OVERHEAD, ephemeralKeyPair, x25519 } from "./nacl.ts";
import type { DhKeyPair, SecretboxBackend } from "./nacl.ts";

export const EPHEMERAL_KEY_BYTES = 32;

export type SessionRole = "initiator" | "responder";

export class SessionCipher {
  private sendCounter = 0;
  private readonly sendNonce = new Uint8Array(SECRETBOX_NONCE_BYTES);
  private readonly receiveNonce = new Uint8Array(SECRETBOX_NONCE_BYTES);

  constructor(
    private readonly box: SecretboxBackend,
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
  ) {}

  /** Seals the next outgoing message under the next counter; the counter travels beside the box. */
  seal(plaintext: Uint8Array): { seq: number; box: Uint8Array } {
    const seq = this.sendCounter++;
    writeCounter(this.sendNonce, seq);
    return { seq, box: this.box.seal(plaintext, this.sendNonce, this.sendKey) };
  }

  /** The counter the next sealed message will carry. */
  get nextSeq(): number {
    return this.sendCounter;
  }

  /**
   * Seals in place under the next counter and returns it: `buffer` holds SECRETBOX_OVERHEAD bytes of
   * room, then the plaintext; afterwards it is the box. Senders build the frame around it this way.
   */
  sealInPlace(buffer: Uint8Array): number {
    const seq = this.sendCounter++;
    writeCounter(this.sendNonce, seq);
    this.box.sealInPlace(buffer, this.sendNonce, this.sendKey);
    return seq;
  }

  /** Opens in place what the other side sealed under `seq`; returns the plaintext, a view into `box`. */
  openInPlace(box: Uint8Array, seq: number): Uint8Array {
    writeCounter(this.receiveNonce, seq);
    if (!this.box.openInPlace(box, this.receiveNonce, this.receiveKey)) {
      throw new ProtocolError(`session message ${seq} does not authenticate (tampered or misplaced)`);
    }
    return box.subarray(SECRETBOX_OVERHEAD);
  }

  /**
   * Opens the message the other side sealed under counter `seq`. A box moved to another counter, or
   * altered in any way, does not open. The caller decides which counters it still expects.
   */
  open(box: Uint8Array, seq: number): Uint8Array {
    writeCounter(this.receiveNonce, seq);
    const plain = this.box.open(box, this.receiveNonce, this.receiveKey);
    if (!plain) throw new ProtocolError(`session message ${seq} does not authenticate (tampered or misplaced)`);
    return plain;
  }

  get sent(): number {
    return this.sendCounter;
  }
}

function writeCounter(nonce: Uint8Array, counter: number): void {
  // 53-bit counter, little-endian, in the first 8 bytes; the rest stays zero.
  let value = counter;
  for (let i = 0; i < 8; i++) {
    nonce[i] = value % 256;
    value = Math.floor(value / 256);
  }
}

/** One side of a handshake in progress. `publicKey` goes to the other side, sealed. */
export class SessionHandshake {
  private ephemeral: DhKeyPair | null = ephemeralKeyPair();
  readonly publicKey: Uint8Array;

  constructor(
    private readonly role: SessionRole,
    private readonly psk: Uint8Array,
    private readonly label: string,
    private readonly box: SecretboxBackend,
  ) {
    this.publicKey = this.ephemeral!.publicKey;
  }

  /** Completes the handshake with the other side's ephemeral public key and forgets our secret. */
  finish(peerPublicKey: Uint8Array): SessionCipher {
    const ephemeral = this.ephemeral;
    if (!ephemeral) throw new Error("session handshake already finished");
    this.ephemeral = null;
    const shared = x25519(ephemeral.secretKey, peerPublicKey);
    ephemeral.secretKey.fill(0);
    if (!shared) throw new ProtocolError("handshake: invalid ephemeral key");
    const [initiatorKey, responderKey] =
      this.role === "initiator" ? [this.publicKey, peerPublicKey] : [peerPublicKey, this.publicKey];
    const keys = hkdf(
      this.psk,
      shared,
      concat(utf8(`iris-mesh/v1/session/${this.label}`), initiatorKey, responderKey),
      64,
    );
    shared.fill(0);
    const initiatorToResponder = keys.slice(0, 32);
    const responderToInitiator = keys.slice(32, 64);
    keys.fill(0);
    return this.role === "initiator"
      ? new SessionCipher(this.box, initiatorToResponder, responderToInitiator)
      : new SessionCipher(this.box, responderToInitiator, initiatorToResponder);
  }
}
