// Broadcast: one sealed message to every member of a cluster reachable at send time, at most once each,
// in the order each sender sent them (links are FIFO and a sender's broadcasts share one path).
// Members receive their own broadcasts too, as in Iris.

import { toHex } from "../../util/bytes.ts";
import type { ServiceKeys } from "../../crypto/keys.ts";
import { Purpose } from "../../crypto/seal.ts";
import { FrameType, MAX_HOPS, encodeFrame } from "../../wire/frames.ts";
import type { BroadcastFrame } from "../../wire/frames.ts";
import { checkSize, deliver, openInOrder, sealFor, toBytes } from "./context.ts";
import type { MessageInfo, Payload, PeerContext } from "./context.ts";

export interface SendOptions {
  /** Milliseconds to wait for a relay link if there is none right now. Default 10 s. */
  timeout?: number;
  /** Do not compress: compression leaks information about content through its length. */
  sensitive?: boolean;
}

export const DEFAULT_SEND_TIMEOUT = 10_000;

export type BroadcastHandler = (body: Uint8Array, info: MessageInfo) => void | Promise<void>;

export function broadcast(ctx: PeerContext, name: string, payload: Payload, options: SendOptions = {}): Promise<void> {
  try {
    const keys = ctx.keyring.get("cluster", name);
    const body = toBytes(payload);
    checkSize(ctx, body, "broadcast");
    const sealed = sealFor(ctx, keys, ctx.sendOrder.stamp(keys.id, body), Purpose.Broadcast, {
      sensitive: options.sensitive,
    });
    const frame = encodeFrame({ type: FrameType.Broadcast, hops: MAX_HOPS, id: keys.id, origin: ctx.peerId, sealed });
    return ctx.outbox.write(frame, options.timeout ?? DEFAULT_SEND_TIMEOUT);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Delivers a cluster's broadcasts to the member's handler. */
export class BroadcastReceiver {
  constructor(
    private readonly ctx: PeerContext,
    private readonly keys: ServiceKeys,
    private readonly handler: BroadcastHandler,
  ) {}

  onBroadcast(frame: BroadcastFrame): void {
    const what = `broadcast to "${this.keys.name}"`;
    const body = openInOrder(this.ctx, this.keys, frame.sealed, frame.origin, Purpose.Broadcast, what);
    if (!body) return;
    deliver(this.ctx, () => this.handler(body, { origin: toHex(frame.origin), name: this.keys.name }), this.keys.name);
  }
}
