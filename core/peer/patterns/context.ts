// What the patterns need from their connection, and nothing more: that keeps each pattern testable and
// the connection the only place that knows about attachment, reconnects and dispatch. The patterns see
// the peer's outbox and direct links through the narrow interfaces below, never the classes, so this
// folder imports nothing from the peer folder above it.

import type { Keyring } from "../../crypto/keyring.ts";
import type { ServiceKeys } from "../../crypto/keys.ts";
import type { MessageIds } from "../../crypto/message-ids.ts";
import type { CryptoBackend } from "../../crypto/nacl.ts";
import type { ReplayWindow } from "../../crypto/replay.ts";
import { SEAL_PREFIX, SealError, open, seal, sealHeaderSize, sealInPlace, writeSealHeader } from "../../crypto/seal.ts";
import { concat } from "../../util/bytes.ts";
import type { Opened, Purpose } from "../../crypto/seal.ts";
import type { TimeoutError } from "../../errors.ts";
import { TooLargeError } from "../../errors.ts";
import type { Link } from "../../transports/link.ts";
import type { Clock } from "../../util/clock.ts";
import { asError } from "../../util/errors.ts";
import type { AfterTurn } from "../../util/scheduling.ts";

/** Where frames for the relay go: the peer's outbox, which queues them across reconnects. */
export interface RelayOutbox {
  /**
   * Queues a frame behind everything written before it. Resolves once it is handed to the relay link
   * (`onSent` is called at that moment); rejects with `timeoutError` if that has not happened in time.
   */
  write(frame: Uint8Array, timeoutMs?: number, timeoutError?: TimeoutError, onSent?: () => void): Promise<void>;
  /** Sends a small control frame at once, ahead of queued data; false when no relay link is attached. */
  sendNow(frame: Uint8Array): boolean;
  /** Whether a frame written now would go straight to the link: attached, nothing queued, under its mark. */
  hasRoom(): boolean;
  /**
   * Resolves once hasRoom() would be true, in turn with the writes before it; a write of nothing. An
   * aborted `signal` withdraws the waiter and rejects with its reason.
   */
  room(timeoutMs?: number, timeoutError?: TimeoutError, signal?: AbortSignal): Promise<void>;
  /**
   * What a writer that never has to wait awaits: resolved, except now and then a real turn of the event
   * loop, so a producer in a tight loop cannot starve timers and socket reads.
   */
  pace(): Promise<void>;
}

/** A signal for a direct link, handed back to the signaling layer to carry to the other peer. */
export type SignalSender = (signal: unknown) => void;

/** The peer's direct WebRTC links to other peers, as tunnels and requests use them. */
export interface DirectRoutes {
  /** The open direct link to a peer (id, hex), or null. */
  link(peerId: string): Link | null;
  /** Starts a link to `peerId` unless one exists, is on its way, or failed recently. */
  initiate(peerId: string, send: SignalSender): void;
  /** A signal from `peerId` arrived through a tunnel; answers go back through `send`. */
  receive(peerId: string, signal: unknown, send: SignalSender): void;
  /** The other peer makes no direct links: stop trying, for a while. */
  giveUp(peerId: string): void;
}

export interface PeerContext {
  readonly peerId: Uint8Array;
  readonly clock: Clock;
  readonly crypto: CryptoBackend;
  /** This peer's message ids, one per sealed message. */
  readonly ids: MessageIds;
  readonly outbox: RelayOutbox;
  readonly keyring: Keyring;
  /** Refuses replays, and keeps each sender's broadcasts and publishes in order. */
  readonly replay: ReplayWindow;
  /** Largest message body; the relay's limit if it is smaller than ours. */
  maxMessage(): number;
  /** Bodies at least this long are compressed before sealing. */
  readonly compressAbove: number;
  /** Milliseconds since the epoch, corrected by the offset learned from the relay. */
  networkNow(): number;
  /** A non-fatal problem worth telling the application about (an unreadable frame, a handler bug). */
  report(error: Error, context: string): void;
  /** Runs a callback once the current turn of the event loop is over (util/scheduling.ts). */
  readonly afterTurn: AfterTurn;
}

/**
 * A message body: bytes, or a string, which is sent as its UTF-8 encoding. Handlers always receive bytes.
 *
 * @example
 * ```ts
 * await conn.publish("news", "extra!"); // the same as:
 * await conn.publish("news", new TextEncoder().encode("extra!"));
 * ```
 */
export type Payload = Uint8Array | string;

const encoder = new TextEncoder();

export function toBytes(payload: Payload): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (typeof payload === "string") return encoder.encode(payload);
  throw new TypeError("a payload must be a Uint8Array or a string");
}

/**
 * What a handler learns about a message besides its body.
 *
 * @example
 * ```ts
 * await conn.subscribe("news", (body, info) => console.log(`${info.name} from ${info.origin}`));
 * ```
 */
export interface MessageInfo {
  /** The sending peer's id, hex. */
  readonly origin: string;
  /** The cluster or topic name. */
  readonly name: string;
}

/**
 * Opens a sealed message for `purpose` and checks it against the replay window (and, given a `stream`,
 * its sender's order on it). Returns null, after reporting why, for anything that is not a fresh,
 * authentic message of that purpose; a plain replay, or a message overtaken by a later one of its
 * sender, is dropped without a report (both are expected after reconnects and retries), after
 * `onReplay` for a replay. The message is opened in place: `sealed` is overwritten.
 */
export function openFresh(
  ctx: PeerContext,
  keys: ServiceKeys,
  sealed: Uint8Array,
  purpose: Purpose,
  what: string,
  onReplay?: (opened: Opened) => void,
  /** Bytes a pattern adds to a body of the maximum size (its own framing inside the seal). */
  framing = 0,
  stream?: object,
): Opened | null {
  let opened: Opened;
  try {
    opened = open(ctx.crypto, keys.payloadKey, sealed, ctx.maxMessage() + framing);
    if (opened.purpose !== purpose) throw new SealError(`sealed for purpose ${opened.purpose}, expected ${purpose}`);
  } catch (error) {
    ctx.report(error as Error, what);
    return null;
  }
  const verdict = ctx.replay.check(opened.messageId, opened.timestamp, ctx.networkNow(), stream);
  if (verdict === "fresh") return opened;
  if (verdict === "replayed") onReplay?.(opened);
  else if (verdict !== "overtaken") ctx.report(new SealError(`${verdict} message refused`), what);
  return null;
}

/** Seals a body for a service with the connection's settings and its next message id. */
export function sealFor(
  ctx: PeerContext,
  keys: ServiceKeys,
  body: Uint8Array,
  purpose: Purpose,
  extra: { inReplyTo?: Uint8Array; messageId?: Uint8Array; sensitive?: boolean } = {},
): Uint8Array {
  return seal(ctx.crypto, keys.payloadKey, body, {
    purpose,
    messageId: extra.messageId ?? ctx.ids.next(),
    timestamp: ctx.networkNow(),
    compressAbove: ctx.compressAbove,
    inReplyTo: extra.inReplyTo,
    sensitive: extra.sensitive,
  });
}

/**
 * A frame whose first `headerSize` bytes are left for its routing header (the caller writes it) and
 * whose rest is `body` sealed for `keys`: built in one buffer and sealed in place, so the body is copied
 * once. `prefix` goes in front of the body inside the seal (a reply names its member so).
 */
export function sealedFrame(
  ctx: PeerContext,
  keys: ServiceKeys,
  purpose: Purpose,
  body: Uint8Array,
  headerSize: number,
  extra: { inReplyTo?: Uint8Array; messageId?: Uint8Array; sensitive?: boolean; prefix?: Uint8Array } = {},
): Uint8Array {
  let prefix = extra.prefix;
  let content = body;
  let inflated: number | null = null;
  const plainBody = (prefix?.length ?? 0) + body.length;
  if (!extra.sensitive && plainBody >= ctx.compressAbove) {
    const compressed = ctx.crypto.compression.deflate(prefix ? concat(prefix, body) : body);
    if (compressed) {
      content = compressed;
      inflated = plainBody;
      prefix = undefined;
    }
  }
  const header = {
    purpose,
    messageId: extra.messageId ?? ctx.ids.next(),
    timestamp: ctx.networkNow(),
    inReplyTo: extra.inReplyTo,
  };
  const plainLength = sealHeaderSize(header, inflated) + (prefix?.length ?? 0) + content.length;
  const frame = new Uint8Array(headerSize + SEAL_PREFIX + plainLength);
  let offset = writeSealHeader(frame, headerSize + SEAL_PREFIX, header, inflated);
  if (prefix) {
    frame.set(prefix, offset);
    offset += prefix.length;
  }
  frame.set(content, offset);
  sealInPlace(ctx.crypto.secretbox, keys.payloadKey, frame.subarray(headerSize));
  return frame;
}

/** Checks a body against the message size limit, naming what was too large. */
export function checkSize(ctx: PeerContext, body: Uint8Array, what: string): void {
  const max = ctx.maxMessage();
  if (body.length > max) throw new TooLargeError(`${what} of ${body.length} bytes exceeds the ${max} byte limit`);
}

/** Runs a handler; a throw or a rejection is reported, never allowed to break the dispatch loop. */
export function deliver<A, I>(
  ctx: PeerContext,
  handler: (arg: A, info: I) => unknown,
  arg: A,
  info: I,
  name: string,
): void {
  try {
    const result = handler(arg, info);
    if (result && typeof (result as PromiseLike<unknown>).then === "function") {
      (result as PromiseLike<unknown>).then(undefined, (error: unknown) =>
        ctx.report(asError(error), `handler for "${name}"`),
      );
    }
  } catch (error) {
    ctx.report(asError(error), `handler for "${name}"`);
  }
}
