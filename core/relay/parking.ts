// A relay that has just started does not know its network yet: peers whose old relay went away are
// still dialing back with backoff. Likewise, right after a relay link comes or goes, trees are being
// rebuilt around the change. During such a grace period, a request or tunnel for a cluster with no
// member in sight waits here for one to appear instead of failing with NoMembers at once, so a relay
// restart or crash costs callers a little latency rather than errors.

export interface Parked {
  readonly clusterId: string;
  readonly deadline: number;
  /** Routes the work again: a member has appeared. */
  resume(): void;
  /** Gives up: tells the caller there is no member. */
  expire(): void;
}

export class Parking {
  private readonly byCluster = new Map<string, Parked[]>();
  private count = 0;

  constructor(
    /** Parking is open until this time (ms since the epoch), unless extended. */
    private openUntil: number,
    private readonly capacity: number,
  ) {}

  get until(): number {
    return this.openUntil;
  }

  /** Keeps parking open until at least `until` (the network is settling after a change). */
  extend(until: number): void {
    if (until > this.openUntil) this.openUntil = until;
  }

  get size(): number {
    return this.count;
  }

  /** Parks the work if the grace period is still on and there is room; says whether it did. */
  park(entry: Parked, now: number): boolean {
    if (now >= this.openUntil || this.count >= this.capacity) return false;
    let list = this.byCluster.get(entry.clusterId);
    if (!list) this.byCluster.set(entry.clusterId, (list = []));
    list.push(entry);
    this.count++;
    return true;
  }

  /** Resumes everything waiting for `clusterId`, which now has a member. */
  release(clusterId: string): void {
    const list = this.byCluster.get(clusterId);
    if (!list) return;
    this.byCluster.delete(clusterId);
    this.count -= list.length;
    for (const entry of list) entry.resume();
  }

  /** Expires what waited past its deadline (everything, once the grace period is over). */
  expire(now: number): void {
    if (this.count === 0) return;
    const expired: Parked[] = [];
    for (const [clusterId, list] of this.byCluster) {
      const keep = now >= this.openUntil ? [] : list.filter((entry) => entry.deadline > now);
      if (keep.length === list.length) continue;
      for (const entry of list) if (!keep.includes(entry)) expired.push(entry);
      if (keep.length === 0) this.byCluster.delete(clusterId);
      else this.byCluster.set(clusterId, keep);
    }
    this.count -= expired.length;
    for (const entry of expired) entry.expire();
  }
}
