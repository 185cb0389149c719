// A relay that has just started does not know its network yet: peers whose old relay went away are
// still dialing back with backoff. During a short grace period, a request or tunnel for a cluster with
// no member waits here for one to join instead of failing with NoMembers at once, so a relay restart
// costs callers a little latency rather than errors.

export interface Parked {
  readonly clusterId: string;
  readonly callerHex: string;
  /** The routed frame as received. */
  readonly bytes: Uint8Array;
  readonly deadline: number;
}

export class Parking {
  private readonly byCluster = new Map<string, Parked[]>();
  private count = 0;

  constructor(
    /** Parking is open until this time (ms since the epoch), then never again. */
    readonly until: number,
    private readonly capacity: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Parks the work if the grace period is still on and there is room; says whether it did. */
  park(entry: Parked, now: number): boolean {
    if (now >= this.until || this.count >= this.capacity) return false;
    let list = this.byCluster.get(entry.clusterId);
    if (!list) this.byCluster.set(entry.clusterId, (list = []));
    list.push(entry);
    this.count++;
    return true;
  }

  /** Everything waiting for `clusterId`, which now has a member. */
  take(clusterId: string): Parked[] {
    const list = this.byCluster.get(clusterId) ?? [];
    this.byCluster.delete(clusterId);
    this.count -= list.length;
    return list;
  }

  /** Removes and returns what waited past its deadline (everything, once the grace period is over). */
  expire(now: number): Parked[] {
    if (this.count === 0) return [];
    const expired: Parked[] = [];
    for (const [clusterId, list] of this.byCluster) {
      const keep = now >= this.until ? [] : list.filter((entry) => entry.deadline > now);
      if (keep.length === list.length) continue;
      for (const entry of list) if (!keep.includes(entry)) expired.push(entry);
      if (keep.length === 0) this.byCluster.delete(clusterId);
      else this.byCluster.set(clusterId, keep);
    }
    this.count -= expired.length;
    return expired;
  }
}
