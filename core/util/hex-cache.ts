// Hex strings for ids that come back over and over: the cluster id of every request, the peer id of
// every caller. Making the string anew for each frame costs more than the rest of a map lookup (a
// 64-character string built two digits at a time, then flattened), and its garbage paces the scavenger,
// whose pauses show in request latency. So each id's string is made once and found again by comparing
// bytes, in a small direct-mapped table: a miss (a new id, or two ids sharing a slot) costs what toHex
// costs, plus a copy of the id.

import { equalBytes, toHex } from "./bytes.ts";

interface Slot {
  readonly bytes: Uint8Array;
  readonly hex: string;
}

export class HexCache {
  private readonly slots: Array<Slot | undefined>;
  private readonly mask: number;

  /** `size` slots, rounded up to a power of two. */
  constructor(size = 256) {
    let slots = 1;
    while (slots < size) slots *= 2;
    this.slots = new Array<Slot | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
  }

  hex(bytes: Uint8Array): string {
    const index = slotOf(bytes) & this.mask;
    const slot = this.slots[index];
    if (slot !== undefined && equalBytes(slot.bytes, bytes)) return slot.hex;
    const hex = toHex(bytes);
    // A copy: `bytes` is usually a view into a frame, which must not be kept alive by the cache.
    this.slots[index] = { bytes: bytes.slice(), hex };
    return hex;
  }
}

/** The ids are hashes or random, so a few of their bytes spread them over the slots well enough. */
function slotOf(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n === 0) return 0;
  return (bytes[0]! | (bytes[n >> 1]! << 8) | (bytes[n - 1]! << 16)) ^ n;
}
