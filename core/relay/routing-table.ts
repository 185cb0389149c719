// The structured overlay among relays, Kademlia-style: relay ids are 128-bit, distance is XOR, and a
// relay keeps links so that for every non-empty "bucket" (the relays sharing exactly i leading bits
// with it) it has at least one. Greedy routing (hand a message to the linked relay closest to its key)
// then always ends at the relay closest to the key network-wide, and each hop fixes at least one more
// leading bit, so any key is reached in O(log N) hops over a bounded number of links.
//
// This file holds the pure part: distances, buckets, and which links a relay wants. Dialing, the
// handshake and heartbeats live in the relay engine.

export const RELAY_KEY_BYTES = 16;
export const KEY_BITS = RELAY_KEY_BYTES * 8;

/** A relay's routing key for a 32-byte service id: its first 16 bytes (ids are uniform hashes). */
export function keyOfService(id: Uint8Array): Uint8Array {
  return id.subarray(0, RELAY_KEY_BYTES);
}

/** Compares XOR distances: negative when a is closer to target than b, 0 when equally close. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < RELAY_KEY_BYTES; i++) {
    const da = a[i]! ^ target[i]!;
    const db = b[i]! ^ target[i]!;
    if (da !== db) return da - db;
  }
  return 0;
}

/** Number of leading bits a and b share: the bucket b falls into, seen from a. KEY_BITS when equal. */
export function commonPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < RELAY_KEY_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return KEY_BITS;
}

export interface KnownRelay {
  readonly id: Uint8Array;
  readonly hex: string;
  readonly address: string;
}

/** How a relay chooses its links among the relays it knows. */
export interface LinkPlanOptions {
  /** Most relay links in total, incoming included. */
  maxLinks: number;
}

export interface LinkPlan {
  /** Relays to dial, best first: one per bucket that has no link yet. */
  dial: KnownRelay[];
  /** Linked relays to let go, to make room: redundant links of crowded buckets. */
  drop: string[];
}

/**
 * The Kademlia bookkeeping of one relay: who it knows, and which of those it is linked to. A relay
 * wants, in each non-empty bucket, a link to the known relay of that bucket closest to itself: such
 * choices are nearly mutual (two relays tend to pick each other), which keeps in-degrees even.
 */
export class RoutingTable {
  private readonly known = new Map<string, KnownRelay>();
  private readonly linked = new Set<string>();

  constructor(
    readonly self: Uint8Array,
    private readonly options: LinkPlanOptions,
  ) {}

  get linkCount(): number {
    return this.linked.size;
  }

  /** Remembers a relay (from a seed, a link, or another relay's list). Ignores ourselves. */
  learn(relay: KnownRelay): boolean {
    if (commonPrefixBits(this.self, relay.id) === KEY_BITS) return false;
    const existing = this.known.get(relay.hex);
    if (existing && existing.address === relay.address) return false;
    this.known.set(relay.hex, relay);
    return true;
  }

  forget(hex: string): void {
    this.known.delete(hex);
  }

  knownRelays(): KnownRelay[] {
    return [...this.known.values()];
  }

  get(hex: string): KnownRelay | undefined {
    return this.known.get(hex);
  }

  setLinked(hex: string, linked: boolean): void {
    if (linked) this.linked.add(hex);
    else this.linked.delete(hex);
  }

  isLinked(hex: string): boolean {
    return this.linked.has(hex);
  }

  linkedIds(): string[] {
    return [...this.linked];
  }

  bucketOf(id: Uint8Array): number {
    return commonPrefixBits(this.self, id);
  }

  /**
   * Whether to accept a link from `id`: yes below the cap; when full, only if the dialer needs us (it
   * has no other link into our part of the id space) or we need it, and a link redundant for us (and
   * not needed by its other end, `protectedLinks`) can make room. Returns the link to drop, if any.
   */
  admit(
    id: Uint8Array,
    needed: boolean,
    protectedLinks: ReadonlySet<string>,
  ): { accept: boolean; drop: string | null } {
    if (this.linked.size < this.options.maxLinks) return { accept: true, drop: null };
    const weNeedIt = !this.linksPerBucket().get(this.bucketOf(id));
    if (!needed && !weNeedIt) return { accept: false, drop: null };
    const drop = this.redundantLink([...protectedLinks]);
    return drop ? { accept: true, drop } : { accept: false, drop: null };
  }

  /**
   * What to change: dial the best relay of each known, unlinked bucket (skipping `unavailable` ones,
   * recently failed), and drop redundant links if that is needed to stay within the cap.
   */
  plan(unavailable: ReadonlySet<string> = new Set(), protectedLinks: ReadonlySet<string> = new Set()): LinkPlan {
    const perBucket = this.linksPerBucket();
    const best = new Map<number, KnownRelay>();
    for (const relay of this.known.values()) {
      if (this.linked.has(relay.hex) || unavailable.has(relay.hex)) continue;
      const bucket = this.bucketOf(relay.id);
      if (perBucket.get(bucket)) continue;
      const current = best.get(bucket);
      if (!current || compareDistance(this.self, relay.id, current.id) < 0) best.set(bucket, relay);
    }
    // Deep buckets first: they hold the few relays closest to us, which routing needs most.
    const dial = [...best.entries()].sort((a, b) => b[0] - a[0]).map(([, relay]) => relay);
    const drop: string[] = [];
    let room = this.options.maxLinks - this.linked.size;
    while (room < dial.length) {
      const redundant = this.redundantLink([...drop, ...protectedLinks]);
      if (!redundant) break;
      drop.push(redundant);
      room++;
    }
    return { dial: dial.slice(0, Math.max(0, room)), drop };
  }

  /** Linked relays, grouped by bucket. */
  private linksPerBucket(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const hex of this.linked) {
      const relay = this.known.get(hex);
      if (!relay) continue;
      const bucket = this.bucketOf(relay.id);
      counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * A link whose bucket has another link: from the most crowded bucket, the one farthest from us.
   * Excluded links still count toward their bucket, but are never the one chosen.
   */
  private redundantLink(excluded: string[] = []): string | null {
    const groups = new Map<number, KnownRelay[]>();
    const counts = this.linksPerBucket();
    for (const hex of this.linked) {
      const relay = this.known.get(hex);
      if (!relay || excluded.includes(hex)) continue;
      const bucket = this.bucketOf(relay.id);
      const group = groups.get(bucket) ?? [];
      group.push(relay);
      groups.set(bucket, group);
    }
    let crowded: KnownRelay[] | null = null;
    let crowdedCount = 0;
    for (const [bucket, group] of groups) {
      const count = counts.get(bucket) ?? 0;
      if (count > 1 && count > crowdedCount) {
        crowded = group;
        crowdedCount = count;
      }
    }
    if (!crowded) return null;
    crowded.sort((a, b) => compareDistance(this.self, b.id, a.id));
    return crowded[0]!.hex;
  }
}
