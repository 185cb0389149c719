// The way one of this tab's requests went, derived from what the relays report, so it can be drawn.
// A request climbs its cluster's tree from the caller's relay to the root (the relay closest to the
// cluster's id), comes down the tree to the member's relay, and the reply retraces that path
// (core/relay/router.ts). Every relay on the way reports its place in the tree (its parent, whether it
// is the root), so the climb and the descent follow those reports. One part is an approximation, and
// `approximate` says when it was used: a relay with no tree entry for the cluster (nobody below it
// serves it) forwards toward the root's id, which the picture draws as one step to the root.
//
// A request sent over a direct WebRTC link goes straight from peer to peer.

import type { Topology } from "./model.ts";

export interface Route {
  /** Node keys from the caller to the member: peer id, relay keys..., peer id. */
  hops: string[];
  kind: "relay" | "direct";
  approximate: boolean;
}

const MAX_CLIMB = 16;

export function routeOf(
  topology: Topology,
  clusterId: string,
  caller: string,
  member: string,
  direct: boolean,
): Route | null {
  const peers = new Map(topology.peers.map((peer) => [peer.id, peer]));
  const from = peers.get(caller);
  const to = peers.get(member);
  if (!from || !to) return null;
  if (direct) return { hops: [caller, member], kind: "direct", approximate: false };

  const keyOfId = new Map<string, string>();
  for (const relay of topology.relays) if (relay.id) keyOfId.set(relay.id, relay.key);
  const tree = new Map<string, { root: boolean; parent: string | null }>();
  for (const relay of topology.relays) {
    const entry = relay.report?.trees.find((t) => t.id === clusterId);
    if (entry)
      tree.set(relay.key, { root: entry.root, parent: entry.parent ? (keyOfId.get(entry.parent) ?? null) : null });
  }
  const root = [...tree].find(([, entry]) => entry.root)?.[0] ?? null;
  let approximate = false;
  const climb = (start: string): string[] => {
    const chain = [start];
    let here = start;
    for (let i = 0; i < MAX_CLIMB; i++) {
      const entry = tree.get(here);
      if (entry?.root) return chain;
      const next = entry?.parent ?? null;
      if (next === null || chain.includes(next)) {
        // No tree entry here: it heads for the root's id; drawn as one step to the root.
        approximate = true;
        if (root !== null && root !== here) chain.push(root);
        return chain;
      }
      chain.push(next);
      here = next;
    }
    approximate = true;
    return chain;
  };
  const up = climb(from.relay);
  const down = climb(to.relay).reverse();
  // Both chains end (up) and start (down) at the root when the trees are whole; join them there.
  const joined = up.at(-1) === down[0] ? [...up, ...down.slice(1)] : [...up, ...down];
  return { hops: [caller, ...collapse(joined), member], kind: "relay", approximate };
}

/** Drops a node repeated back to back (a caller and member on the root relay: up and down are one). */
function collapse(keys: string[]): string[] {
  return keys.filter((key, i) => i === 0 || keys[i - 1] !== key);
}
