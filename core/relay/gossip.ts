// Relays learn about each other by gossip: each tells its neighbors which relays it knows. This keeps
// when each relay was last confirmed alive, so that entries nobody vouches for any more age out of the
// routing table and are not passed on.

import { toHex } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import type { RelayEntry } from "../wire/frames.ts";
import { commonPrefixBits, compareDistance } from "./routing-table.ts";
import type { RoutingTable } from "./routing-table.ts";

/** Directory entries nobody has confirmed for this long are forgotten. */
const DIRECTORY_TTL_MS = 60_000;
/** Most entries one gossip frame carries, and how many of them per bucket of the receiver. */
const GOSSIP_ENTRIES = 64;
const GOSSIP_PER_BUCKET = 3;

export interface GossipSelf {
  relayId: Uint8Array;
  address: string;
  clock: Clock;
}

export class Gossip {
  private readonly confirmed = new Map<string, number>();

  constructor(
    private readonly self: GossipSelf,
    private readonly table: RoutingTable,
  ) {}

  /** A live link to relay `hex` confirms it. */
  confirm(hex: string, now: number): void {
    this.confirmed.set(hex, now);
  }

  /** Takes in what another relay told us; true when the routing table learned something new. */
  learn(entries: RelayEntry[]): boolean {
    const now = this.self.clock.now();
    let learned = false;
    for (const entry of entries) {
      if (entry.age > DIRECTORY_TTL_MS) continue;
      const hex = toHex(entry.id);
      const seen = now - entry.age;
      if ((this.confirmed.get(hex) ?? -Infinity) < seen) this.confirmed.set(hex, seen);
      learned = this.table.learn({ id: entry.id.slice(), hex, address: entry.address }) || learned;
    }
    return learned;
  }

  /** Linked relays are confirmed now; unlinked ones nobody confirmed within the TTL are forgotten. */
  expire(now: number): void {
    for (const relay of this.table.knownRelays()) {
      if (this.table.isLinked(relay.hex)) this.confirmed.set(relay.hex, now);
      else if (now - (this.confirmed.get(relay.hex) ?? 0) > DIRECTORY_TTL_MS) {
        this.table.forget(relay.hex);
        this.confirmed.delete(relay.hex);
      }
    }
  }

  /**
   * What to tell relay `to` about, so it can fill its routing table: ourselves, then for each of its
   * buckets the relays we know that are closest to it (what Kademlia's self-lookup would find), then
   * the freshest others. Only relays confirmed alive recently are passed on.
   */
  entriesFor(to: Uint8Array): RelayEntry[] {
    const now = this.self.clock.now();
    const entries: RelayEntry[] = [{ id: this.self.relayId, address: this.self.address, age: 0 }];
    const toHexId = toHex(to);
    const candidates = this.table
      .knownRelays()
      .filter((relay) => relay.hex !== toHexId)
      .map((relay) => ({ relay, age: this.table.isLinked(relay.hex) ? 0 : now - (this.confirmed.get(relay.hex) ?? 0) }))
      .filter((entry) => entry.age <= DIRECTORY_TTL_MS);
    const byBucket = new Map<number, typeof candidates>();
    for (const candidate of candidates) {
      const bucket = commonPrefixBits(to, candidate.relay.id);
      const group = byBucket.get(bucket) ?? [];
      group.push(candidate);
      byBucket.set(bucket, group);
    }
    const chosen = new Set<string>();
    for (const group of byBucket.values()) {
      group.sort((a, b) => compareDistance(to, a.relay.id, b.relay.id));
      for (const { relay, age } of group.slice(0, GOSSIP_PER_BUCKET)) {
        entries.push({ id: relay.id, address: relay.address, age });
        chosen.add(relay.hex);
      }
    }
    const rest = candidates.filter((candidate) => !chosen.has(candidate.relay.hex)).sort((a, b) => a.age - b.age);
    for (const { relay, age } of rest) {
      if (entries.length >= GOSSIP_ENTRIES) break;
      entries.push({ id: relay.id, address: relay.address, age });
    }
    return entries.slice(0, GOSSIP_ENTRIES);
  }
}
