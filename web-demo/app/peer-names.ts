// One name per peer, everywhere on the page: the graph, the feeds, the answers, the activity log. The
// topology tells each peer's agent; tabs are "tab 1a2b3c", Node peers go by their agent's name
// ("echo-member-2", "ticker"). A peer not seen in the topology yet is "peer 1a2b3c" until it is.

import { peerLabel } from "./topology/model.ts";
import type { PeerNode } from "./topology/model.ts";

export class PeerNames {
  private readonly byId = new Map<string, string>();
  private readonly byName = new Map<string, string>();

  constructor(private readonly selfId: string) {
    this.remember(selfId, `tab ${selfId.slice(0, 6)}`);
  }

  /** Learns the names of the peers in a topology (names outlive the peers: feeds keep old lines). */
  update(peers: readonly Pick<PeerNode, "id" | "agent">[]): void {
    for (const peer of peers) this.remember(peer.id, peerLabel(peer));
  }

  /** The peer's name; "this tab" for this one when `selfAsThisTab`. */
  name(peerId: string, selfAsThisTab = false): string {
    if (selfAsThisTab && peerId === this.selfId) return "this tab";
    return this.byId.get(peerId) ?? `peer ${peerId.slice(0, 6)}`;
  }

  /** The peer id behind a name seen in an answer ("echo-member-2 heard: ..."), when known. */
  idOf(name: string): string | null {
    return this.byName.get(name) ?? null;
  }

  private remember(id: string, name: string): void {
    this.byId.set(id, name);
    this.byName.set(name, id);
  }
}
