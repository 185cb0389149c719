// How a request or a tunnel open finds a member: up the id's tree to its root, then down it, at each
// relay weighing local members against child subtrees, and back up when nothing below could take it.
// Requests (router.ts) and tunnel opens (tunnel-router.ts) search alike, so the search is theirs to share.

import { fromHex } from "../util/bytes.ts";
import { ROUTE_BACK, ROUTE_DOWN, ROUTE_FLAGS_OFFSET } from "../wire/frames.ts";
import type { Hop } from "./hop.ts";
import type { ServiceTable } from "./service-table.ts";
import type { PeerSession } from "./peer-session.ts";
import type { RelayLink } from "./relay-link.ts";
import { keyOfService } from "./routing-table.ts";
import { memberWeight, pickWeighted } from "./tree.ts";
import type { Aggregate, Trees } from "./tree.ts";

export const NO_MEMBERS = "no members in this cluster";

export type Step = { to: Hop; down: boolean } | { back: Hop } | { none: true };

/** Where a request or tunnel open stands in its search for a member. */
export interface Route {
  mode: "up" | "down";
  above: Hop | null;
  readonly tried: Set<Hop>;
}

export interface MemberSearchHost {
  random: () => number;
  /** The linked relay closest to a key, or null when this relay is the closest. */
  nextHop(key: Uint8Array): RelayLink | null;
}

/** Sets a routed frame's direction flags in place (the retried flag is kept). */
export function setRouteFlags(bytes: Uint8Array, direction: number): void {
  bytes[ROUTE_FLAGS_OFFSET] = (bytes[ROUTE_FLAGS_OFFSET]! & ~(ROUTE_DOWN | ROUTE_BACK)) | direction;
}

export class MemberSearch {
  constructor(
    private readonly host: MemberSearchHost,
    private readonly trees: Trees<RelayLink>,
    private readonly services: ServiceTable<PeerSession>,
  ) {}

  /**
   * The next step of a request or tunnel open for `idHex`. Climbing, it goes up toward the root (the
   * relay closest to the id), and once here is the root it turns down. Going down, it goes to a local
   * member or a child subtree picked by weight, never one already tried; with nothing left below, back
   * to the relay above that sent it down, or nowhere at all at the root.
   */
  step(idHex: string, route: Route): Step {
    const tree = this.trees.get(idHex);
    if (route.mode === "up") {
      const parent = this.host.nextHop(keyOfService(tree?.idBytes ?? fromHex(idHex)));
      if (parent && !route.tried.has(parent)) return { to: parent, down: false };
      route.mode = "down"; // this is the root, or the way up failed
    }
    // Local members weigh in as one group, by what they report, like child subtrees do: mixing the
    // relay's own up-to-the-moment counts with children's reported ones would starve whichever side
    // looked busier. Within the group, the power of two choices uses the relay's own counts too.
    const local = this.localWeight(idHex, route.tried);
    // With no child subtrees (a relay alone, or a leaf of the tree) there is nothing to filter: no map.
    const children = tree && tree.children.size > 0 ? untried(tree.children, route.tried) : NO_CHILDREN;
    const pick = pickWeighted(local > 0 ? [{ weight: local }] : NO_LOCALS, children, null, this.host.random);
    if (pick && "child" in pick) return { to: pick.child, down: true };
    if (pick) {
      const member = this.services.pickMember(idHex, undefined, route.tried);
      if (member) return { to: member, down: true };
    }
    if (route.above && !route.above.gone && !route.tried.has(route.above)) return { back: route.above };
    return { none: true };
  }

  /** The weight of local members not yet tried, by their reported load. */
  private localWeight(idHex: string, tried: Set<Hop>): number {
    let weight = 0;
    for (const session of this.services.membersOf(idHex)) {
      if (!tried.has(session)) weight += memberWeight(this.services.loadOf(idHex, session)!.reported);
    }
    return weight;
  }
}

const NO_CHILDREN: ReadonlyMap<RelayLink, Aggregate> = new Map();
const NO_LOCALS: ReadonlyArray<{ weight: number }> = [];

/** The child subtrees a route has not tried, and that are still linked. */
function untried(children: ReadonlyMap<RelayLink, Aggregate>, tried: ReadonlySet<Hop>): Map<RelayLink, Aggregate> {
  const out = new Map<RelayLink, Aggregate>();
  for (const [child, aggregate] of children) if (!tried.has(child) && !child.gone) out.set(child, aggregate);
  return out;
}
