// The bytes a page sends and what the receiving page tallies: messages cut from a pool of random bytes,
// each starting with its index; bytes, first and last arrival (epoch ms, comparable between the pages of
// one browser), and the parts kept to hash once the transfer is timed.

const POOL_BYTES = 4 * 1024 * 1024;
let pool: Uint8Array<ArrayBuffer> | null = null;

export const epochNow = () => performance.timeOrigin + performance.now();

export function message(index: number, size: number): Uint8Array<ArrayBuffer> {
  if (!pool) {
    pool = new Uint8Array(POOL_BYTES);
    // getRandomValues fills at most 64 KiB per call.
    for (let at = 0; at < POOL_BYTES; at += 65_536) crypto.getRandomValues(pool.subarray(at, at + 65_536));
  }
  const start = (index * 7919 * 64) % (POOL_BYTES - size);
  const out = pool.slice(start, start + size);
  if (size >= 4) new DataView(out.buffer).setUint32(0, index);
  return out;
}

export async function sha256Hex(parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export interface Tally {
  bytes: number;
  firstAt: number;
  lastAt: number;
  error: string | null;
  parts: Uint8Array[];
  waiters: Array<() => void>;
}

export function newTally(): Tally {
  return { bytes: 0, firstAt: 0, lastAt: 0, error: null, parts: [], waiters: [] };
}

export function add(tally: Tally, part: Uint8Array): void {
  const now = epochNow();
  if (tally.bytes === 0) tally.firstAt = now;
  tally.lastAt = now;
  tally.bytes += part.length;
  tally.parts.push(part);
  for (const wake of tally.waiters.splice(0)) wake();
}

export function fail(tally: Tally, error: string): void {
  tally.error = error;
  for (const wake of tally.waiters.splice(0)) wake();
}

/** Resolves once `total` bytes are in, or the transfer failed; with the timing, not the hash. */
export async function arrived(
  tally: Tally,
  total: number,
): Promise<{ bytes: number; firstAt: number; lastAt: number; error: string | null }> {
  while (tally.bytes < total && !tally.error) await new Promise<void>((resolve) => tally.waiters.push(resolve));
  return { bytes: tally.bytes, firstAt: tally.firstAt, lastAt: tally.lastAt, error: tally.error };
}
