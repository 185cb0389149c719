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
}
