// Probes are the overlay's traceroute: a frame routed toward a key until the relay closest to it answers
// with the hops it took. They are apart from the backbone because nothing routes by them; they only
// let an operator (and the tests) see that routing converges.

import { equalBytes, toHex } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import { FrameType, HOPS_OFFSET, MAX_HOPS, decodeFrame, encodeFrame } from "../wire/frames.ts";
import type { ProbeFrame, ProbeReplyFrame } from "../wire/frames.ts";
import { spendHop } from "./hop-budget.ts";
import type { RelayLink } from "./relay-link.ts";

export interface ProbeHost {
  relayId: Uint8Array;
  clock: Clock;
  /** The linked relay closest to a key, or null when this relay is the closest. */
  nextHop(key: Uint8Array): RelayLink | null;
}

export class Probes {
  private readonly waiting = new Map<number, (reply: ProbeReplyFrame) => void>();
  private nextProbeId = 1;

  constructor(private readonly host: ProbeHost) {}

  probe(target: Uint8Array, timeoutMs = 10_000): Promise<{ hops: number; responder: string }> {
    const probeId = this.nextProbeId++;
    return new Promise((resolve, reject) => {
      const timer = this.host.clock.setTimeout(() => {
        this.waiting.delete(probeId);
        reject(new Error(`probe ${probeId} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(probeId, (reply) => {
        this.host.clock.clearTimeout(timer);
        resolve({ hops: reply.probeHops, responder: toHex(reply.responder) });
      });
      const frame = encodeFrame({ type: FrameType.Probe, hops: MAX_HOPS, probeId, origin: this.host.relayId, target });
      this.onProbe(decodeFrame(frame) as ProbeFrame, frame, true);
    });
  }

  onProbe(frame: ProbeFrame, bytes: Uint8Array, local = false): void {
    if (!local && !spendHop(bytes)) return;
    const next = this.host.nextHop(frame.target);
    if (next) {
      next.send(bytes);
      return;
    }
    const reply = encodeFrame({
      type: FrameType.ProbeReply,
      hops: MAX_HOPS,
      probeId: frame.probeId,
      origin: frame.origin,
      responder: this.host.relayId,
      probeHops: MAX_HOPS - (local ? MAX_HOPS : bytes[HOPS_OFFSET]!),
    });
    this.onProbeReply(decodeFrame(reply) as ProbeReplyFrame, reply, true);
  }

  onProbeReply(frame: ProbeReplyFrame, bytes: Uint8Array, local = false): void {
    if (equalBytes(frame.origin, this.host.relayId)) {
      const resolve = this.waiting.get(frame.probeId);
      this.waiting.delete(frame.probeId);
      resolve?.(frame);
      return;
    }
    if (!local && !spendHop(bytes)) return;
    this.host.nextHop(frame.origin)?.send(bytes);
  }
}
