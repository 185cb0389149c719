// Scribe-style trees: for every cluster and topic id, interest is aggregated toward a rendezvous relay,
// the relay closest to the id's key. A relay with members (or subscribers) of an id, or with children
// that have some, tells the next relay toward the rendezvous how many there are below it and how much
// weight (spare capacity) they offer. Nobody holds the network's whole membership: each relay knows its
// own peers and one aggregate per child link.
//
// This file is the bookkeeping for one relay; the relay engine sends the updates it asks for.

/** One member's weight as a fixed-point number: less loaded members get more requests. */
export const WEIGHT_SCALE = 1_000_000;

export function memberWeight(load: number): number {
  return Math.max(1, Math.round(WEIGHT_SCALE / (1 + load)));
}

export interface Aggregate {
  count: number;
  weight: number;
}

export interface TreeState<Link> {
  readonly id: string;
  readonly idBytes: Uint8Array;
  /** Children (relay links) and the aggregate each last reported. */
  readonly children: Map<Link, Aggregate>;
  /** The link our aggregate was last sent over, and what we sent. */
  parent: Link | null;
  reported: Aggregate;
  /** When a weight-only change may next be reported (counts go at once). */
  nextWeightReport: number;
}

export class Trees<Link> {
  private readonly trees = new Map<string, TreeState<Link>>();

  get(id: string): TreeState<Link> | undefined {
    return this.trees.get(id);
  }

  /** The tree of `id`, created empty when needed. */
  ensure(id: string, idBytes: Uint8Array): TreeState<Link> {
    let tree = this.trees.get(id);
    if (!tree) {
      tree = {
        id,
        idBytes: idBytes.slice(),
        children: new Map(),
        parent: null,
        reported: { count: 0, weight: 0 },
        nextWeightReport: 0,
      };
      this.trees.set(id, tree);
    }
    return tree;
  }

  /** Forgets a tree with nothing left in it. */
  prune(tree: TreeState<Link>, localCount: number): void {
    if (localCount === 0 && tree.children.size === 0 && tree.reported.count === 0) this.trees.delete(tree.id);
  }

  all(): IterableIterator<TreeState<Link>> {
    return this.trees.values();
  }

  get size(): number {
    return this.trees.size;
  }

  /** Trees in which `link` is a child or the parent. */
  involving(link: Link): TreeState<Link>[] {
    const out: TreeState<Link>[] = [];
    for (const tree of this.trees.values()) if (tree.parent === link || tree.children.has(link)) out.push(tree);
    return out;
  }
}

/** The aggregate a relay reports upward: its local part plus every child's. */
export function aggregateOf<Link>(tree: TreeState<Link>, local: Aggregate): Aggregate {
  let count = local.count;
  let weight = local.weight;
  for (const child of tree.children.values()) {
    count += child.count;
    weight += child.weight;
  }
  return { count, weight };
}

/**
 * Picks where one request goes, in proportion to weight: a local member (an index into `locals`) or a
 * child link. `random` is in [0, 1).
 */
export function pickWeighted<Link>(
  locals: ReadonlyArray<{ weight: number }>,
  children: ReadonlyMap<Link, Aggregate>,
  exclude: Link | null,
  random: () => number,
): { local: number } | { child: Link } | null {
  let total = 0;
  for (const local of locals) total += local.weight;
  for (const [link, child] of children) if (link !== exclude && child.count > 0) total += child.weight;
  if (total <= 0) return null;
  let point = random() * total;
  for (let i = 0; i < locals.length; i++) {
    point -= locals[i]!.weight;
    if (point < 0) return { local: i };
  }
  let last: Link | null = null;
  for (const [link, child] of children) {
    if (link === exclude || child.count <= 0) continue;
    last = link;
    point -= child.weight;
    if (point < 0) return { child: link };
  }
  // Rounding can leave a sliver of the total unassigned; it belongs to the last candidate.
  if (last !== null) return { child: last };
  return locals.length > 0 ? { local: locals.length - 1 } : null;
}
