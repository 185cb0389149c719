// Broadcasts and publishes travel in batches: what a sender sends to one cluster or topic in one turn of
// the event loop is sealed once, into one frame, up to BATCH_LIMIT bytes. One seal, one nonce, one
// replay check and one relay routing decision then serve many messages, which is most of what a small
// message used to cost. Nothing waits for a batch to fill: it leaves when the turn ends (afterTurn), or
// at once when the next message would not fit.
//
// A batch is the body of an ordinary sealed message (seal.ts):
//
//   [count varint] then, per message: [varint length << 1 | compressed][inflated length varint]?[bytes]
//
// Bodies from `compressAbove` bytes are compressed one by one (unless sensitive), so a batch of small
// incompressible messages costs no compression attempt. A sender's batches carry increasing message ids,
// which keep its order on each cluster or topic (replay.ts); within a batch, order is the batch's own.

import { toHex } from "../../util/bytes.ts";
import type { CompressionBackend } from "../../crypto/compress.ts";
import type { ServiceKeys } from "../../crypto/keys.ts";
import { Purpose, SEAL_PREFIX, SealError, sealHeaderSize, sealInPlace, writeSealHeader } from "../../crypto/seal.ts";
import { Reader, varintSize, writeVarintAt } from "../../wire/codec.ts";
import { FrameType, MAX_HOPS, MULTICAST_HEADER_BYTES, writeMulticastHeader } from "../../wire/frames.ts";
import { checkSize, deliver, openFresh, toBytes } from "./context.ts";
import type { MessageInfo, Payload, PeerContext } from "./context.ts";

/**
 * Options of {@link Connection.broadcast} and {@link Connection.publish}.
 *
 * @example
 * ```ts
 * await conn.publish("prices", update, { timeout: 2000, sensitive: true });
 * ```
 */
export interface SendOptions {
  /**
   * How long the message may wait for room in the relay link (while reconnecting, or while the link is
   * full) before the call fails with TimeoutError; such a message is never sent. Default 30 s.
   */
  timeout?: number;
  /** Withdraws the message while it waits for room, and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Do not compress: compression leaks information about content through its length. */
  sensitive?: boolean;
}

/**
 * Longer than a relay's stall timeout (10 s by default) with room to spare: a relay holds a sender back
 * while one of its subscribers is stuck for up to that long before it cuts the stuck one, and the sender
 * must not fail meanwhile.
 */
export const DEFAULT_SEND_TIMEOUT = 30_000;

/** Bytes of bodies (and their length prefixes) a batch holds at most; a larger message goes alone. */
export const BATCH_LIMIT = 64 * 1024;
/** What a batch of one adds to its message: the count and the length prefix. */
const BATCH_FRAMING = 1 + 2 * 8;

interface Batch {
  readonly keys: ServiceKeys;
  /** The messages, each after its length prefix, copied in as they are sent (callers may reuse theirs). */
  entries: Uint8Array;
  used: number;
  count: number;
}

/** The batches of one connection: one per cluster or topic (and per sensitivity) in the current turn. */
export class MessageBatches {
  private readonly open = new Map<ServiceKeys, Batch>();
  private readonly openSensitive = new Map<ServiceKeys, Batch>();
  /** Writers waiting for the outbox to have room; while any wait, later ones queue behind them. */
  private waiting = 0;
  /** Batch buffers sealed already, to fill again (a fresh 64 KiB buffer per batch costs more than a copy). */
  private readonly spare: Uint8Array[] = [];
  private flushScheduled = false;
  private readonly flushAtTurnEnd = () => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(private readonly ctx: PeerContext) {}

  /** Broadcasts to every member of cluster `name`. */
  broadcast(name: string, payload: Payload, options: SendOptions = {}): Promise<void> {
    return this.send("cluster", name, payload, options);
  }

  /** Publishes to every subscriber of topic `name`. */
  publish(name: string, payload: Payload, options: SendOptions = {}): Promise<void> {
    return this.send("topic", name, payload, options);
  }

  /** Seals and hands to the outbox every batch of this turn, in the order they were opened. */
  flush(): void {
    for (const batches of [this.open, this.openSensitive]) {
      for (const batch of batches.values()) this.seal(batch);
      batches.clear();
    }
  }

  /**
   * Takes the message into this turn's batch and resolves at once while the outbox has room; otherwise
   * waits for room first (in turn with every writer before it), so that a message the caller was told
   * timed out is never sent, and a message the caller was told was taken always is.
   */
  private send(kind: "cluster" | "topic", name: string, payload: Payload, options: SendOptions): Promise<void> {
    let keys: ServiceKeys;
    let body: Uint8Array;
    try {
      keys = this.ctx.keyring.get(kind, name);
      body = toBytes(payload);
      checkSize(this.ctx, body, kind === "cluster" ? "broadcast" : "publish");
    } catch (error) {
      return Promise.reject(error);
    }
    const outbox = this.ctx.outbox;
    if (this.waiting === 0 && outbox.hasRoom()) {
      this.take(keys, body, options);
      return outbox.pace();
    }
    this.waiting++;
    return outbox.room(options.timeout ?? DEFAULT_SEND_TIMEOUT, undefined, options.signal).then(
      () => {
        this.waiting--;
        this.take(keys, body, options);
      },
      (error: unknown) => {
        this.waiting--;
        throw error;
      },
    );
  }

  private take(keys: ServiceKeys, body: Uint8Array, options: SendOptions): void {
    const sensitive = options.sensitive === true;
    let entry = body;
    let inflated = -1;
    if (!sensitive && body.length >= this.ctx.compressAbove) {
      const compressed = this.ctx.crypto.compression.deflate(body);
      if (compressed) {
        entry = compressed;
        inflated = body.length;
      }
    }
    const prefix = entry.length * 2 + (inflated < 0 ? 0 : 1);
    const size = varintSize(prefix) + (inflated < 0 ? 0 : varintSize(inflated)) + entry.length;
    const batches = sensitive ? this.openSensitive : this.open;
    let batch = batches.get(keys);
    if (batch && batch.used + size > batch.entries.length) {
      batches.delete(keys);
      this.seal(batch);
      batch = undefined;
    }
    if (!batch) {
      const entries = size <= BATCH_LIMIT ? (this.spare.pop() ?? new Uint8Array(BATCH_LIMIT)) : new Uint8Array(size);
      batch = { keys, entries, used: 0, count: 0 };
      batches.set(keys, batch);
    }
    let offset = writeVarintAt(batch.entries, batch.used, prefix);
    if (inflated >= 0) offset = writeVarintAt(batch.entries, offset, inflated);
    batch.entries.set(entry, offset);
    batch.used = offset + entry.length;
    batch.count++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.ctx.afterTurn(this.flushAtTurnEnd);
    }
  }

  /** Builds the batch's frame around its seal, in one buffer, and writes it to the outbox. */
  private seal(batch: Batch): void {
    const { ctx } = this;
    const keys = batch.keys;
    const header = {
      purpose: keys.kind === "cluster" ? Purpose.Broadcast : Purpose.Publish,
      messageId: ctx.ids.next(),
      timestamp: ctx.networkNow(),
    };
    const plainLength = sealHeaderSize(header) + varintSize(batch.count) + batch.used;
    const frame = new Uint8Array(MULTICAST_HEADER_BYTES + SEAL_PREFIX + plainLength);
    writeMulticastHeader(frame, {
      type: keys.kind === "cluster" ? FrameType.Broadcast : FrameType.Publish,
      hops: MAX_HOPS,
      id: keys.id,
      origin: ctx.peerId,
    });
    let offset = writeSealHeader(frame, MULTICAST_HEADER_BYTES + SEAL_PREFIX, header);
    offset = writeVarintAt(frame, offset, batch.count);
    frame.set(batch.entries.subarray(0, batch.used), offset);
    if (batch.entries.length === BATCH_LIMIT && this.spare.length < 4) this.spare.push(batch.entries);
    sealInPlace(ctx.crypto.secretbox, keys.payloadKey, frame.subarray(MULTICAST_HEADER_BYTES));
    // The writers were told their messages were taken, so the frame waits for a link as long as it takes
    // (no timeout); only closing the connection fails it, and that is the connection's to report.
    ctx.outbox.write(frame).catch(() => {});
  }
}

/**
 * Opens a batch (a Broadcast's or a Publish's sealed payload) and hands each message in it to `handler`,
 * unless the batch is not authentic, is a replay, or was overtaken by a later batch of the same sender
 * on this cluster or topic (`keys` is the stream). Reports a malformed batch once, and delivers nothing
 * from it.
 */
export function deliverBatch(
  ctx: PeerContext,
  keys: ServiceKeys,
  sealed: Uint8Array,
  origin: Uint8Array,
  purpose: Purpose,
  what: string,
  handlers: Iterable<(body: Uint8Array, info: MessageInfo) => unknown>,
): void {
  const opened = openFresh(ctx, keys, sealed, purpose, what, undefined, BATCH_FRAMING, keys);
  if (!opened) return;
  let bodies: Uint8Array[];
  try {
    bodies = readBatch(opened.body, ctx.maxMessage(), ctx.crypto.compression);
  } catch (error) {
    ctx.report(error as Error, what);
    return;
  }
  const info: MessageInfo = { origin: toHex(origin), name: keys.name };
  for (const body of bodies) for (const handler of handlers) deliver(ctx, handler, body, info, keys.name);
}

/** The messages of a batch, as views into it (or inflated copies); throws SealError if malformed. */
export function readBatch(plain: Uint8Array, maxBody: number, compression: CompressionBackend): Uint8Array[] {
  try {
    const r = new Reader(plain);
    const count = r.varint("batch count", plain.length);
    const bodies: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const prefix = r.varint("batched length");
      const length = Math.floor(prefix / 2);
      if (prefix % 2 === 1) {
        const inflated = r.varint("inflated length");
        bodies[i] = compression.inflate(r.fixed("batched body", length), inflated, maxBody);
      } else {
        if (length > maxBody) throw new RangeError(`batched body of ${length} bytes exceeds ${maxBody}`);
        bodies[i] = r.fixed("batched body", length);
      }
    }
    r.end("batch");
    return bodies;
  } catch (error) {
    if (error instanceof SealError) throw error;
    throw new SealError(`malformed batch: ${(error as Error).message}`, { cause: error });
  }
}
