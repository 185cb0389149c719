// The short-lived state a relay keeps for routed conversations: requests waiting for their reply, and
// tunnels between a caller and the member chosen for them. Replies and tunnel frames find their way
// back through this state, so the routed frames need no return address beyond the caller's peer id.

export interface PendingRequest<Holder> {
  readonly key: string;
  readonly clusterId: string;
  readonly callerHex: string;
  readonly origin: Uint8Array;
  readonly reqId: number;
  /** The request frame as received; kept to re-send it once if the member dies before replying. */
  readonly frame: Uint8Array;
  member: Holder;
  retried: boolean;
  readonly deadline: number;
}

export function pathKey(originHex: string, localId: number): string {
  return `${originHex}:${localId}`;
}

export class PendingRequests<Holder> {
  private readonly entries = new Map<string, PendingRequest<Holder>>();
  private readonly byMember = new Map<Holder, Set<string>>();

  get size(): number {
    return this.entries.size;
  }

  get(key: string): PendingRequest<Holder> | undefined {
    return this.entries.get(key);
  }

  add(entry: PendingRequest<Holder>): void {
    this.entries.set(entry.key, entry);
    this.index(entry);
  }

  /** Moves a request to another member (a retry). */
  reassign(entry: PendingRequest<Holder>, member: Holder): void {
    this.unindex(entry);
    entry.member = member;
    entry.retried = true;
    this.index(entry);
  }

  delete(entry: PendingRequest<Holder>): void {
    this.entries.delete(entry.key);
    this.unindex(entry);
  }

  /** Requests sent to a member and not yet answered. */
  atMember(member: Holder): PendingRequest<Holder>[] {
    const keys = this.byMember.get(member);
    if (!keys) return [];
    return [...keys].map((key) => this.entries.get(key)!);
  }

  /** Removes and returns entries whose deadline has passed. */
  expire(now: number): PendingRequest<Holder>[] {
    const expired: PendingRequest<Holder>[] = [];
    for (const entry of this.entries.values()) if (entry.deadline <= now) expired.push(entry);
    for (const entry of expired) this.delete(entry);
    return expired;
  }

  private index(entry: PendingRequest<Holder>): void {
    let keys = this.byMember.get(entry.member);
    if (!keys) this.byMember.set(entry.member, (keys = new Set()));
    keys.add(entry.key);
  }

  /** Drops the entry from its member's index, and the member once it has nothing pending. */
  private unindex(entry: PendingRequest<Holder>): void {
    const keys = this.byMember.get(entry.member);
    keys?.delete(entry.key);
    if (keys?.size === 0) this.byMember.delete(entry.member);
  }
}

export interface TunnelPath<Holder> {
  readonly key: string;
  readonly clusterId: string;
  readonly callerHex: string;
  readonly origin: Uint8Array;
  readonly tunnelId: number;
  readonly member: Holder;
  accepted: boolean;
  /** A Normal close seen in each direction; the path is forgotten once both ends have closed. */
  closedToMember: boolean;
  closedToCaller: boolean;
}

export class TunnelPaths<Holder> {
  private readonly paths = new Map<string, TunnelPath<Holder>>();
  private readonly byHolder = new Map<Holder | string, Set<string>>();

  get size(): number {
    return this.paths.size;
  }

  get(key: string): TunnelPath<Holder> | undefined {
    return this.paths.get(key);
  }

  add(path: TunnelPath<Holder>): void {
    this.paths.set(path.key, path);
    this.index(path.member, path.key);
    this.index(path.callerHex, path.key);
  }

  delete(path: TunnelPath<Holder>): void {
    if (!this.paths.delete(path.key)) return;
    this.unindex(path.member, path.key);
    this.unindex(path.callerHex, path.key);
  }

  /** Tunnels in which `member` serves, or in which the peer `callerHex` is the caller. */
  involving(memberOrCaller: Holder | string): TunnelPath<Holder>[] {
    const keys = this.byHolder.get(memberOrCaller);
    return keys ? [...keys].map((key) => this.paths.get(key)!) : [];
  }

  private index(holder: Holder | string, key: string): void {
    let keys = this.byHolder.get(holder);
    if (!keys) this.byHolder.set(holder, (keys = new Set()));
    keys.add(key);
  }

  private unindex(holder: Holder | string, key: string): void {
    const keys = this.byHolder.get(holder);
    keys?.delete(key);
    if (keys?.size === 0) this.byHolder.delete(holder);
  }
}
