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
