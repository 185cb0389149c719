// The replay window: once only, inside [now - window, now + skew], bounded memory that never lets a
// forgotten id back in.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ReplayWindow } from "../../../core/crypto/replay.ts";
import type { ReplayVerdict } from "../../../core/crypto/replay.ts";

/** A 16-byte message id from a number. */
function id(n: number): Uint8Array {
  const out = new Uint8Array(16);
  new DataView(out.buffer).setUint32(12, n);
  out[0] = 0xa5;
  return out;
}

const NOW = 1_700_000_000_000;

describe("ReplayWindow", () => {
  test("defaults", () => {
    const window = new ReplayWindow();
    assert.equal(window.windowMs, 120_000);
    assert.equal(window.skewMs, 30_000);
    assert.equal(window.capacity, 200_000);
    assert.equal(window.size, 0);
  });

  test("an id is fresh once, then replayed", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(id(1), NOW, NOW), "fresh");
    assert.equal(window.check(id(1), NOW, NOW), "replayed");
    assert.equal(window.check(id(1), NOW, NOW + 1000), "replayed");
    assert.equal(window.check(id(2), NOW, NOW), "fresh");
    assert.equal(window.size, 2);
  });

  test("a replay with another timestamp is still a replay of the id", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(id(1), NOW, NOW), "fresh");
    assert.equal(window.check(id(1), NOW + 5, NOW), "replayed");
  });

  test("ids compare by bytes, not by identity", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(id(7), NOW, NOW), "fresh");
    assert.equal(window.check(id(7).slice(), NOW, NOW), "replayed");
    const inside = new Uint8Array(40);
    inside.set(id(7), 10);
    assert.equal(window.check(inside.subarray(10, 26), NOW, NOW), "replayed");
  });

  test("timestamps older than the window are stale, the edge itself is not", () => {
    const window = new ReplayWindow({ windowMs: 10_000, skewMs: 1_000 });
    assert.equal(window.check(id(1), NOW - 10_001, NOW), "stale");
    assert.equal(window.check(id(2), NOW - 10_000, NOW), "fresh");
    assert.equal(window.size, 1, "a stale message is not remembered");
  });

  test("timestamps beyond the skew are future, the edge itself is not", () => {
    const window = new ReplayWindow({ windowMs: 10_000, skewMs: 1_000 });
    assert.equal(window.check(id(1), NOW + 1_001, NOW), "future");
    assert.equal(window.check(id(2), NOW + 1_000, NOW), "fresh");
    // Refused messages were not recorded: once in range they are fresh.
    assert.equal(window.check(id(1), NOW + 1_001, NOW + 1), "fresh");
  });

  test("capacity bounds memory; evicted ids are refused as stale, never fresh", () => {
    const capacity = 100;
    const extra = 50;
    const window = new ReplayWindow({ capacity });
    for (let i = 0; i < capacity + extra; i++) {
      assert.equal(window.check(id(i), NOW + i, NOW + i), "fresh");
      assert.ok(window.size <= capacity, `size ${window.size} after ${i + 1}`);
    }
    assert.equal(window.size, capacity);
    const later = NOW + capacity + extra;
    for (let i = 0; i < extra; i++) {
      assert.equal(window.check(id(i), NOW + i, later), "stale", `evicted id ${i}`);
    }
    for (let i = extra; i < capacity + extra; i++) {
      assert.equal(window.check(id(i), NOW + i, later), "replayed", `remembered id ${i}`);
    }
  });

  test("out-of-order timestamps under eviction pressure never let a replay through", () => {
    // Seeded shuffle of timestamps within the window, a small table, and every accepted message replayed
    // after every step: the verdict may be replayed or stale, never fresh.
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const window = new ReplayWindow({ capacity: 20, windowMs: 60_000, skewMs: 5_000 });
    const accepted: Array<[number, number]> = [];
    const verdicts = new Map<ReplayVerdict, number>();
    for (let n = 0; n < 300; n++) {
      const now = NOW + n * 10;
      const timestamp = now - Math.floor(random() * 20_000) + 2_000;
      const verdict = window.check(id(n), timestamp, now);
      verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      if (verdict === "fresh") accepted.push([n, timestamp]);
      assert.ok(window.size <= 20);
      for (const [old, oldTimestamp] of accepted) {
        assert.notEqual(window.check(id(old), oldTimestamp, now), "fresh", `replay of ${old} at step ${n}`);
      }
    }
    assert.ok((verdicts.get("fresh") ?? 0) > 20, `verdicts: ${JSON.stringify([...verdicts])}`);
  });

  test("entries expire as time passes; an expired id is stale, not fresh", () => {
    const window = new ReplayWindow({ windowMs: 10_000, skewMs: 1_000 });
    for (let i = 0; i < 10; i++) assert.equal(window.check(id(i), NOW + i * 1000, NOW + i * 1000), "fresh");
    assert.equal(window.size, 10);

    // At NOW + 14_500 the horizon is NOW + 4_500: ids 0..4 have expired, 5..9 remain.
    const later = NOW + 14_500;
    assert.equal(window.check(id(100), later, later), "fresh");
    assert.equal(window.size, 6);
    assert.equal(window.check(id(2), NOW + 2000, later), "stale");
    assert.equal(window.check(id(7), NOW + 7000, later), "replayed");

    // Much later, everything old is gone and new traffic is fine.
    const muchLater = NOW + 1_000_000;
    assert.equal(window.check(id(200), muchLater, muchLater), "fresh");
    assert.equal(window.size, 1);
    assert.equal(window.check(id(100), later, muchLater), "stale");
  });
});
