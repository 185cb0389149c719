// What a relay reports about itself, as JSON in InspectReply frames (and on its status page). It lives
// with the wire formats because both sides read it: relays write it, peers and dashboards parse it.

/**
 * What a relay reports about itself: its links, peers and trees. {@link Connection.inspect} returns it
 * (for the peer's own relay, or any relay by id); the relay's status page serves the same JSON. Relays
 * report clusters and topics by id only, never by name.
 *
 * @example
 * ```ts
 * const report = await conn.inspect();
 * console.log(`${report.address}: ${report.peers.length} peers, ${report.links.length} relay links`);
 * ```
 */
export interface RelaySnapshot {
  /** The relay's id, hex. */
  relayId: string;
  /** The address peers and relays dial to reach it. */
  address: string;
  /** True while it drains (it stops accepting and sends its peers elsewhere). */
  draining: boolean;
  /** Its links to other relays. */
  links: Array<{
    /** The other relay's id, hex. */
    relayId: string;
    /** The other relay's address. */
    address: string;
    /** "out" when this relay dialed the link, "in" when the other one did. */
    direction: "in" | "out";
    /** True while the other relay drains. */
    draining: boolean;
    /** Frames refused because the link's queue was full (they are lost). */
    dropped: number;
  }>;
  /** The relays it knows of, linked or not. */
  directory: Array<{
    /** The relay's id, hex. */
    relayId: string;
    /** The relay's address. */
    address: string;
  }>;
  /** The peers attached to it. */
  peers: Array<{
    /** The peer's id, hex. */
    peerId: string;
    /** The peer's runtime, as it named itself ("node", "browser"...). */
    agent: string;
    /** The peer's network address, as the relay sees it. */
    remote: string;
    /** Ids (hex) of the clusters it is a member of. */
    clusters: string[];
    /** Ids (hex) of the topics it subscribes to. */
    topics: string[];
  }>;
  /** Its place in each cluster's and topic's tree (interest aggregated toward a root relay). */
  trees: Array<{
    /** The cluster's or topic's id, hex. */
    id: string;
    /** True when this relay is the tree's root. */
    root: boolean;
    /** The parent relay's id, hex; null at the root. */
    parent: string | null;
    /** Child relays with members or subscribers below them. */
    children: Array<{
      /** The child relay's id, hex. */
      relayId: string;
      /** Members or subscribers under it. */
      count: number;
    }>;
    /** Members or subscribers attached to this relay itself. */
    local: number;
  }>;
  /** Members per cluster, among this relay's own peers. */
  clusters: Array<{
    /** The cluster's id, hex. */
    id: string;
    /** Members attached here. */
    members: number;
  }>;
  /** Subscribers per topic, among this relay's own peers. */
  topics: Array<{
    /** The topic's id, hex. */
    id: string;
    /** Subscribers attached here. */
    subscribers: number;
  }>;
  /** Requests it placed that have no reply yet. */
  pendingRequests: number;
  /** Requests and tunnel opens waiting for a first member while the relay is fresh. */
  parked: number;
  /** Tunnels passing through it. */
  tunnels: number;
  /** Traffic counters and levels; absent in reports from relays older than this field. */
  stats?: RelayStatsReport;
}

/**
 * A relay's traffic counters (since it started) and levels (at the moment of the report), in
 * {@link RelaySnapshot.stats}. Its one duration, `uptimeMs`, names its unit: it is JSON read by tools
 * that never see these types.
 *
 * @example
 * ```ts
 * const { stats } = await conn.inspect();
 * if (stats) console.log(`${stats.framesIn} frames in over ${stats.uptimeMs / 1000} s`);
 * ```
 */
export interface RelayStatsReport {
  /** Milliseconds since the relay started. */
  uptimeMs: number;
  /** Peers attached (handshake done). */
  peers: number;
  /** Links to other relays. */
  relayLinks: number;
  /** Bytes waiting in the relay's outbound queues, peers' and relay links' together. */
  queuedBytes: number;
  /** Tunnels passing through the relay. */
  tunnelsOpen: number;
  /** Requests placed and not yet answered. */
  pendingRequests: number;
  /** Links not read now because they feed a full queue (flow control). */
  pausedSenders: number;
  /** How often a link was paused that way since the relay started. */
  pauses: number;
  /**
   * How long links spent paused that way since the relay started, in milliseconds summed over links
   * (pauses still on count so far). Over `pauses`, the length of a pause.
   */
  pausedMs: number;
  /** Frames received, from peers and relays. */
  framesIn: number;
  /** Frames sent. */
  framesOut: number;
  /** Bytes received, frame bodies. */
  bytesIn: number;
  /** Bytes sent, frame bodies. */
  bytesOut: number;
  /** Frames refused by a full outbound queue, and peers disconnected as slow consumers. */
  slowConsumerDrops: number;
  /** Peers disconnected as slow consumers. */
  slowConsumerDisconnects: number;
  /** Requests handed to a member. */
  requestsPlaced: number;
  /** Requests placed again on another member after the first one (or the way to it) failed. */
  requestsPlacedAgain: number;
  /** Links and handshakes refused, by reason. */
  refused: Record<string, number>;
  /** The same counters per frame type (by name), for types seen at least once. */
  byKind: Record<
    string,
    {
      /** Frames of this type received. */
      framesIn: number;
      /** Bytes of this type received. */
      bytesIn: number;
      /** Frames of this type sent. */
      framesOut: number;
      /** Bytes of this type sent. */
      bytesOut: number;
    }
  >;
}
