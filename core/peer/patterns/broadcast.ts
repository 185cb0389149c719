// Broadcast: one sealed message to every member of a cluster reachable at send time, at most once each,
// in the order each sender sent them (links are FIFO, a sender's broadcasts share one path, and its
// message ids keep the order where paths change; see message-batches.ts for how they are sent).
// Members receive their own broadcasts too, as in Iris.

import type { ServiceKeys } from "../../crypto/keys.ts";
import { Purpose } from "../../crypto/seal.ts";
import type { BroadcastFrame } from "../../wire/frames.ts";
import type { MessageInfo, PeerContext } from "./context.ts";
import { deliverBatch } from "./message-batches.ts";

/**
 * Hears one broadcast to a cluster this peer is a member of (its own broadcasts included). A throw or a
 * rejection is reported on the connection's `error` event; the sender is not told.
 *
 * @example
 * ```ts
 * const broadcast: BroadcastHandler = (body, { origin }) => console.log(`from ${origin}:`, body.length, "bytes");
 * ```
 */
export type BroadcastHandler = (body: Uint8Array, info: MessageInfo) => void | Promise<void>;

/** Delivers a cluster's broadcasts to the member's handler. */
export class BroadcastReceiver {
  private readonly handlers: BroadcastHandler[];
  private readonly what: string;

  constructor(
    private readonly ctx: PeerContext,
    private readonly keys: ServiceKeys,
    handler: BroadcastHandler,
  ) {
    this.handlers = [handler];
    this.what = `broadcast to "${keys.name}"`;
  }

  onBroadcast(frame: BroadcastFrame): void {
    deliverBatch(this.ctx, this.keys, frame.sealed, frame.origin, Purpose.Broadcast, this.what, this.handlers);
  }
}
