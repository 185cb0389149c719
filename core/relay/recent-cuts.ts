// Why a relay cut a peer, kept for a little while when the peer could not be told. A cut with data queued
// toward the peer resets the connection (the close frame would have waited behind all that data, and a
// stuck reader would learn nothing for minutes): the peer sees its link lost, without a reason. Such a
// peer dials the same relay again at once, and the relay answers that first dial with the reason of the
// cut as its close, so the peer's drop event still says why, moments later. Bounded in entries and time.

export interface Cut {
  code: number;
  reason: string;
  at: number;
}

/** Most cuts remembered at once; past it the oldest are forgotten. */
const CAPACITY = 4096;
/** A peer that has not asked within this long will not. */
const KEEP_MS = 60_000;

export class RecentCuts {
  private readonly cuts = new Map<string, Cut>();

  get size(): number {
    return this.cuts.size;
  }

  record(peerHex: string, code: number, reason: string, now: number): void {
    this.cuts.delete(peerHex);
    this.cuts.set(peerHex, { code, reason, at: now });
    for (const [oldest, cut] of this.cuts) {
      if (this.cuts.size <= CAPACITY && now - cut.at < KEEP_MS) break;
      this.cuts.delete(oldest);
    }
  }

  /** The cut of this peer's previous link, if it is recent; it is forgotten once taken. */
  take(peerHex: string, now: number): Cut | null {
    const cut = this.cuts.get(peerHex);
    if (!cut) return null;
    this.cuts.delete(peerHex);
    return now - cut.at < KEEP_MS ? cut : null;
  }
}
