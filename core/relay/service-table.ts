// Who serves which cluster and who listens to which topic, as one relay knows it, and how a request
// picks its member: the power of two random choices over each member's load, where load is the larger
// of what the member reports and what this relay knows it has sent and not yet seen answered.

export interface MemberLoad {
  /** What the member last reported: work in flight and queued there, from every source. */
  reported: number;
  /** Requests this relay forwarded to the member and has not seen answered. */
  outstanding: number;
}

export class ServiceTable<Holder> {
  private readonly members = new Map<string, Map<Holder, MemberLoad>>();
  private readonly subscribers = new Map<string, Set<Holder>>();

  constructor(private readonly random: () => number = Math.random) {}

  addMember(id: string, holder: Holder): void {
    let group = this.members.get(id);
    if (!group) this.members.set(id, (group = new Map()));
    if (!group.has(holder)) group.set(holder, { reported: 0, outstanding: 0 });
  }

  removeMember(id: string, holder: Holder): boolean {
    const group = this.members.get(id);
    if (!group?.delete(holder)) return false;
    if (group.size === 0) this.members.delete(id);
    return true;
  }

  addSubscriber(id: string, holder: Holder): void {
    let set = this.subscribers.get(id);
    if (!set) this.subscribers.set(id, (set = new Set()));
    set.add(holder);
  }

  removeSubscriber(id: string, holder: Holder): boolean {
    const set = this.subscribers.get(id);
    if (!set?.delete(holder)) return false;
    if (set.size === 0) this.subscribers.delete(id);
    return true;
  }

  membersOf(id: string): Iterable<Holder> {
    return this.members.get(id)?.keys() ?? [];
  }

  memberCount(id: string): number {
    return this.members.get(id)?.size ?? 0;
  }

  subscriberCount(id: string): number {
    return this.subscribers.get(id)?.size ?? 0;
  }

  subscribersOf(id: string): Iterable<Holder> {
    return this.subscribers.get(id) ?? [];
  }

  reportLoad(id: string, holder: Holder, load: number): void {
    const state = this.members.get(id)?.get(holder);
    if (state) state.reported = load;
  }

  /** Adjusts the relay's own count of unanswered requests at a member. */
  trackOutstanding(id: string, holder: Holder, delta: number): void {
    const state = this.members.get(id)?.get(holder);
    if (state) state.outstanding = Math.max(0, state.outstanding + delta);
  }

  loadOf(id: string, holder: Holder): MemberLoad | undefined {
    return this.members.get(id)?.get(holder);
  }

  /**
   * Picks a member for one request, never an excluded one (`exclude`, or one in `excluding`); undefined
   * when there is none. Called for every request: it counts the candidates and walks to the two drawn,
   * rather than making a list of them, a closure or an entry pair per member.
   */
  pickMember(id: string, exclude?: Holder, excluding?: ReadonlySet<unknown>): Holder | undefined {
    const group = this.members.get(id);
    if (!group) return undefined;
    let count = 0;
    for (const holder of group.keys()) if (holder !== exclude && !excluding?.has(holder)) count++;
    if (count === 0) return undefined;
    const first = count === 1 ? 0 : Math.floor(this.random() * count);
    let second = -1;
    if (count > 1) {
      second = Math.floor(this.random() * (count - 1));
      if (second >= first) second++;
    }
    let a: Holder | undefined;
    let b: Holder | undefined;
    let index = 0;
    for (const holder of group.keys()) {
      if (holder === exclude || excluding?.has(holder)) continue;
      if (index === first) a = holder;
      else if (index === second) b = holder;
      index++;
    }
    if (b === undefined) return a;
    return score(group.get(b)!) < score(group.get(a!)!) ? b : a;
  }

  clusterIds(): string[] {
    return [...this.members.keys()];
  }

  topicIds(): string[] {
    return [...this.subscribers.keys()];
  }
}

function score(load: MemberLoad): number {
  return Math.max(load.reported, load.outstanding);
}
