// A hop is where a relay can send a routed frame next: one of its peers, or another relay.

import type { Link } from "../transports/link.ts";

export interface Hop {
  readonly kind: "peer" | "relay";
  readonly link: Link;
  /** For logs. */
  readonly label: string;
  /** Gone for good: nothing more can be sent or received through it. */
  readonly gone: boolean;
  /** Queues a frame; false when it was refused (the hop is gone or its queue is full). */
  send(bytes: Uint8Array): boolean;
}

/**
 * Signs of life besides frames heard: a link the relay stopped reading itself (flow control: its frames
 * wait in its socket), and one whose queue the other end keeps taking from (a slow reader is reading,
 * even while our pings wait behind megabytes of data on their way to it). `queuedAtCheck` holds the
 * queue seen at the previous look. A queue that emptied is no sign: the other end has had our ping and
 * would have answered it.
 */
export function showsLife(hop: { readonly link: Link; queuedAtCheck: number }): boolean {
  const queued = hop.link.bufferedAmount;
  const draining = queued > 0 && queued < hop.queuedAtCheck;
  hop.queuedAtCheck = queued;
  return hop.link.paused || draining;
}
