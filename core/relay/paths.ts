// The short-lived state a relay keeps for routed conversations: requests waiting for their reply, and
// tunnels between a caller and the member chosen for them. Each relay on the way keeps one entry: the
// hop the request came from and the hop it went to. Replies and tunnel frames retrace the path through
// these entries, so routed frames need no return address beyond the caller's peer id, and a relay that
// loses the hop a request went to can place it again from where it stands.

export interface PendingRequest<Hop> {
  readonly key: string;
  readonly clusterId: string;
  readonly callerHex: string;
  readonly origin: Uint8Array;
  readonly reqId: number;
  /** The request frame as last received; kept to send it on again if its hop fails. */
  frame: Uint8Array;
  /** Toward the caller. */
  from: Hop;
  /** Toward the member. */
  to: Hop;
  /** Climbing toward the tree's root, or going down it toward members. */
  mode: "up" | "down";
  /** The relay that sent it down here, where it goes back if nothing below can take it. */
  above: Hop | null;
  /** Hops that already failed this request, or sent it back: not tried again. */
  readonly tried: Set<Hop>;
  /**
   * This relay has placed the request again after a hop failed (as often as hops fail, never on a hop
   * in `tried`): what finding nobody afterwards is answered with (MemberLost rather than NoMembers).
   */
  placedAgain: boolean;
  readonly deadline: number;
}

export function pathKey(originHex: string, localId: number): string {
  return `${originHex}:${localId}`;
}

/**
 * An index of entry keys by the hops they involve. An entry may involve one hop twice (a request from
 * and to the same peer, or an open that has not left its first hop yet), so keys are counted.
 */
class HopIndex<Hop> {
  private readonly byHop = new Map<Hop | string, Map<string, number>>();

  add(hop: Hop | string, key: string): void {
    let keys = this.byHop.get(hop);
    if (!keys) this.byHop.set(hop, (keys = new Map()));
    keys.set(key, (keys.get(key) ?? 0) + 1);
  }

  remove(hop: Hop | string, key: string): void {
    const keys = this.byHop.get(hop);
    const count = keys?.get(key);
    if (!keys || count === undefined) return;
    if (count > 1) keys.set(key, count - 1);
    else keys.delete(key);
    if (keys.size === 0) this.byHop.delete(hop);
  }

  keys(hop: Hop | string): string[] {
    const keys = this.byHop.get(hop);
    return keys ? [...keys.keys()] : [];
  }

  get size(): number {
    return this.byHop.size;
  }
}

export class PendingRequests<Hop> {
  private readonly entries = new Map<string, PendingRequest<Hop>>();
  private readonly index = new HopIndex<Hop>();

  get size(): number {
    return this.entries.size;
  }

  get(key: string): PendingRequest<Hop> | undefined {
    return this.entries.get(key);
  }

  add(entry: PendingRequest<Hop>): void {
    this.entries.set(entry.key, entry);
    this.index.add(entry.to, entry.key);
    this.index.add(entry.from, entry.key);
  }

  /** Sends the request another way: `to` failed it or sent it back. */
  redirect(entry: PendingRequest<Hop>, to: Hop): void {
    this.index.remove(entry.to, entry.key);
    entry.to = to;
    this.index.add(to, entry.key);
  }

  /** The caller came back over another hop (it reconnected): replies go there now. */
  rebase(entry: PendingRequest<Hop>, from: Hop): void {
    this.index.remove(entry.from, entry.key);
    entry.from = from;
    this.index.add(from, entry.key);
  }

  delete(entry: PendingRequest<Hop>): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    this.index.remove(entry.to, entry.key);
    this.index.remove(entry.from, entry.key);
  }

  /** Requests that went to `hop` and wait for its reply. */
  sentTo(hop: Hop): PendingRequest<Hop>[] {
    return this.index
      .keys(hop)
      .map((key) => this.entries.get(key)!)
      .filter((entry) => entry.to === hop);
  }

  /** Requests that came from `hop`. */
  cameFrom(hop: Hop): PendingRequest<Hop>[] {
    return this.index
      .keys(hop)
      .map((key) => this.entries.get(key)!)
      .filter((entry) => entry.from === hop);
  }

  all(): IterableIterator<PendingRequest<Hop>> {
    return this.entries.values();
  }

  /** Removes and returns entries whose deadline has passed. */
  expire(now: number): PendingRequest<Hop>[] {
    const expired: PendingRequest<Hop>[] = [];
    for (const entry of this.entries.values()) if (entry.deadline <= now) expired.push(entry);
    for (const entry of expired) this.delete(entry);
    return expired;
  }

  /** Hops with entries; for tests that check nothing leaks. */
  get indexedHops(): number {
    return this.index.size;
  }
}

export interface TunnelPath<Hop> {
  readonly key: string;
  readonly clusterId: string;
  readonly callerHex: string;
  readonly origin: Uint8Array;
  readonly tunnelId: number;
  /** The open frame, kept until the tunnel is accepted, to place it again if its hop fails. */
  openFrame: Uint8Array | null;
  towardCaller: Hop;
  towardMember: Hop;
  mode: "up" | "down";
  above: Hop | null;
  readonly tried: Set<Hop>;
  accepted: boolean;
  /** A Normal close seen in each direction; the path is forgotten once both ends have closed. */
  closedToMember: boolean;
  closedToCaller: boolean;
}

export class TunnelPaths<Hop> {
  private readonly paths = new Map<string, TunnelPath<Hop>>();
  private readonly index = new HopIndex<Hop>();

  get size(): number {
    return this.paths.size;
  }

  get(key: string): TunnelPath<Hop> | undefined {
    return this.paths.get(key);
  }

  add(path: TunnelPath<Hop>): void {
    this.paths.set(path.key, path);
    this.index.add(path.towardMember, path.key);
    this.index.add(path.towardCaller, path.key);
    this.index.add(path.callerHex, path.key);
  }

  redirect(path: TunnelPath<Hop>, towardMember: Hop): void {
    this.index.remove(path.towardMember, path.key);
    path.towardMember = towardMember;
    this.index.add(towardMember, path.key);
  }

  delete(path: TunnelPath<Hop>): void {
    if (this.paths.get(path.key) !== path) return;
    this.paths.delete(path.key);
    this.index.remove(path.towardMember, path.key);
    this.index.remove(path.towardCaller, path.key);
    this.index.remove(path.callerHex, path.key);
  }

  /** Tunnels running over `hop` in either direction, or whose caller is the peer `callerHex`. */
  involving(hopOrCaller: Hop | string): TunnelPath<Hop>[] {
    return this.index.keys(hopOrCaller).map((key) => this.paths.get(key)!);
  }

  get indexedHops(): number {
    return this.index.size;
  }
}
