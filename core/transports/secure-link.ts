// Admission to a backbone that is closed to outsiders: with a network key, every link (peer to relay,
// relay to relay) starts with a handshake that proves both ends hold the key, and from then on every
// frame on it is sealed. The handshake is the Noise NNpsk0 idea: each side sends an ephemeral X25519
// key, and the session keys mix the shared secret with the network key, so the hop is forward-secret.
//
// The first message carries a MAC under a key derived from the network key. Checking it costs two
// SHA-512 runs; only after it passes does the accepting side do any public-key work, so a flood of
// garbage or of forged hellos costs a relay next to nothing.

import { concat, utf8 } from "../util/bytes.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";
import { hkdf, hmacSha512 } from "../crypto/keys.ts";
import { constantTimeEqual } from "../crypto/nacl.ts";
import type { SecretboxBackend } from "../crypto/nacl.ts";
import { SessionHandshake } from "../crypto/session.ts";
import type { SessionCipher } from "../crypto/session.ts";
import { WireError } from "../wire/codec.ts";
import { FrameType, LINK_MAC_BYTES, decodeFrame, encodeFrame } from "../wire/frames.ts";
import type { Frame } from "../wire/frames.ts";
import { CloseCode, HandlerSlot, LinkWrapper } from "./link.ts";
import type { Link, LinkHandlers } from "./link.ts";

const LABEL = "iris-mesh/v1/network";

export interface NetworkKeys {
  readonly macKey: Uint8Array;
  readonly psk: Uint8Array;
  /** What the secured links seal their frames with. */
  readonly box: SecretboxBackend;
}

/** Derives the link MAC key and the handshake's pre-shared key from a 32-byte network key. */
export function networkKeys(networkKey: Uint8Array, box: SecretboxBackend): NetworkKeys {
  const salt = utf8(LABEL);
  return { macKey: hkdf(salt, networkKey, utf8("mac"), 32), psk: hkdf(salt, networkKey, utf8("psk"), 32), box };
}

function mac(keys: NetworkKeys, ...parts: Uint8Array[]): Uint8Array {
  return hmacSha512(keys.macKey, concat(utf8(LABEL), ...parts)).subarray(0, LINK_MAC_BYTES);
}

/** A link whose frames are sealed with the handshake's session keys; counters are implicit (links keep order). */
class SecuredLink extends LinkWrapper {
  private readonly slot = new HandlerSlot();
  private received = 0;

  constructor(
    inner: Link,
    private readonly cipher: SessionCipher,
  ) {
    super(inner);
  }

  override listen(handlers: LinkHandlers): void {
    this.slot.install(handlers);
  }

  override send(frame: Uint8Array): void {
    this.inner.send(this.cipher.seal(frame).box);
  }

  /** A sealed frame from the other end, in order. */
  receive(box: Uint8Array): void {
    let frame: Uint8Array;
    try {
      frame = this.cipher.open(box, this.received);
    } catch {
      this.inner.close(CloseCode.Protocol, "a frame on the secured link does not authenticate");
      return;
    }
    this.received++;
    this.slot.frame(frame);
  }

  closedBy(code: number, reason: string): void {
    this.slot.close(code, reason);
  }

  drained(): void {
    this.slot.drain();
  }
}

export interface SecureLinkOptions {
  role: "initiator" | "responder";
  keys: NetworkKeys;
  clock: Clock;
  timeoutMs: number;
}

/**
 * Runs the admission handshake on a fresh link and resolves with a link whose frames are sealed.
 * Rejects (having closed the link) when the other end does not prove the key in time.
 */
export function secureLink(link: Link, options: SecureLinkOptions): Promise<Link> {
  const { role, keys, clock } = options;
  const handshake = new SessionHandshake(role, keys.psk, "network-link", keys.box);
  return new Promise<Link>((resolve, reject) => {
    let secured: SecuredLink | null = null;
    let done = false;
    const timer: TimerHandle = clock.setTimeout(
      () => fail(CloseCode.HandshakeTimeout, "no network-key handshake in time"),
      options.timeoutMs,
    );
    function fail(code: number, reason: string): void {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      link.close(code, reason);
      reject(new Error(`network-key handshake failed: ${reason}`));
    }
    function succeed(cipher: SessionCipher): void {
      done = true;
      clock.clearTimeout(timer);
      secured = new SecuredLink(link, cipher);
      resolve(secured);
    }
    link.listen({
      frame: (bytes) => {
        if (secured) return secured.receive(bytes);
        if (done) return;
        let frame: Frame;
        try {
          frame = decodeFrame(bytes);
        } catch (error) {
          const message = error instanceof WireError ? error.message : "malformed";
          return fail(CloseCode.AuthFailed, `expected a network-key handshake (${message})`);
        }
        if (role === "responder" && frame.type === FrameType.LinkHello) {
          // The cheap check first: without the network key nobody can make this MAC.
          if (!constantTimeEqual(frame.mac, mac(keys, Uint8Array.of(1), frame.ephemeral))) {
            return fail(CloseCode.AuthFailed, "this backbone needs a network key");
          }
          let cipher: SessionCipher;
          try {
            cipher = handshake.finish(frame.ephemeral);
          } catch {
            return fail(CloseCode.AuthFailed, "invalid handshake key");
          }
          link.send(
            encodeFrame({
              type: FrameType.LinkWelcome,
              ephemeral: handshake.publicKey,
              mac: mac(keys, Uint8Array.of(2), frame.ephemeral, handshake.publicKey),
            }),
          );
          return succeed(cipher);
        }
        if (role === "initiator" && frame.type === FrameType.LinkWelcome) {
          if (!constantTimeEqual(frame.mac, mac(keys, Uint8Array.of(2), handshake.publicKey, frame.ephemeral))) {
            return fail(CloseCode.AuthFailed, "the other end does not hold this network key");
          }
          try {
            return succeed(handshake.finish(frame.ephemeral));
          } catch {
            return fail(CloseCode.AuthFailed, "invalid handshake key");
          }
        }
        fail(CloseCode.AuthFailed, `expected a network-key handshake, got frame type ${frame.type}`);
      },
      drain: () => secured?.drained(),
      close: (code, reason) => {
        if (secured) return secured.closedBy(code, reason);
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        reject(new Error(`link closed during the network-key handshake: ${code} ${reason}`));
      },
    });
    if (role === "initiator") {
      link.send(
        encodeFrame({
          type: FrameType.LinkHello,
          ephemeral: handshake.publicKey,
          mac: mac(keys, Uint8Array.of(1), handshake.publicKey),
        }),
      );
    }
  });
}
