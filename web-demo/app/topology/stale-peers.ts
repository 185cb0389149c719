// Peers the relays stopped reporting, kept on the picture a little longer: a peer whose relay died is
// "moving" (it fails over by itself and shows up at another relay within seconds), one whose relay is
// fine has "left". Without this, a killed relay's peers would blink out and back, and nobody would
// see them move.

import type { PeerNode, Topology } from "./model.ts";

/** How long a peer that left stays, faded. */
export const LEFT_MS = 6_000;
/** How long a peer of a dead relay stays while it should be moving. */
export const MOVING_MS = 20_000;

export class StalePeers {
  private readonly last = new Map<string, PeerNode>();

  /** `topology` with the recently vanished peers added back, marked stale. */
  apply(topology: Topology, now: number): Topology {
    const live = new Set(topology.peers.map((peer) => peer.id));
    const relayOf = new Map(topology.relays.map((relay) => [relay.key, relay]));
    const stale: PeerNode[] = [];
    for (const [id, peer] of this.last) {
      if (live.has(id)) continue;
      const relay = relayOf.get(peer.relay);
      const relayAlive = relay?.condition === "up";
      const why = peer.stale?.why ?? (relayAlive ? "left" : "moving");
      const since = peer.stale?.since ?? now;
      if (now - since > (why === "left" ? LEFT_MS : MOVING_MS) || !relay) {
        this.last.delete(id);
        continue;
      }
      const kept: PeerNode = { ...peer, stale: { since, why } };
      this.last.set(id, kept);
      stale.push(kept);
    }
    for (const peer of topology.peers) this.last.set(peer.id, peer);
    if (stale.length === 0) return topology;
    return { ...topology, peers: [...topology.peers, ...stale] };
  }
}
