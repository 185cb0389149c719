// What a relay reports about itself, as JSON in InspectReply frames (and on its status page). It lives
// with the wire formats because both sides read it: relays write it, peers and dashboards parse it.

export interface RelaySnapshot {
  relayId: string;
  address: string;
  draining: boolean;
  /** `dropped`: frames refused because the link's queue was full (they are lost). */
  links: Array<{ relayId: string; address: string; direction: "in" | "out"; draining: boolean; dropped: number }>;
  directory: Array<{ relayId: string; address: string }>;
  peers: Array<{ peerId: string; agent: string; remote: string; clusters: string[]; topics: string[] }>;
  trees: Array<{
    id: string;
    root: boolean;
    parent: string | null;
    children: Array<{ relayId: string; count: number }>;
    local: number;
  }>;
  clusters: Array<{ id: string; members: number }>;
  topics: Array<{ id: string; subscribers: number }>;
  pendingRequests: number;
  /** Requests and tunnel opens waiting for a first member while the relay is fresh. */
  parked: number;
  tunnels: number;
  /** Traffic counters and levels; absent in reports from relays older than this field. */
  stats?: RelayStatsReport;
}

/** A relay's traffic counters (since it started) and levels (at the moment of the report). */
export interface RelayStatsReport {
  uptimeMs: number;
  /** Peers attached (handshake done). */
  peers: number;
  relayLinks: number;
  /** Bytes waiting in the relay's outbound queues, peers' and relay links' together. */
  queuedBytes: number;
  tunnelsOpen: number;
  pendingRequests: number;
  /** Links not read now because they feed a full queue (flow control), and how often that happened. */
  pausedSenders: number;
  pauses: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames refused by a full outbound queue, and peers disconnected as slow consumers. */
  slowConsumerDrops: number;
  slowConsumerDisconnects: number;
  requestsPlaced: number;
  requestsPlacedAgain: number;
  /** Links and handshakes refused, by reason. */
  refused: Record<string, number>;
  /** The same counters per frame type (by name), for types seen at least once. */
  byKind: Record<string, { framesIn: number; bytesIn: number; framesOut: number; bytesOut: number }>;
}
