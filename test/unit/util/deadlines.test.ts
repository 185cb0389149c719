import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Timed } from "../../../core/util/deadlines.ts";
import { Deadlines } from "../../../core/util/deadlines.ts";
import { VirtualClock } from "../../fixtures/virtual-clock.ts";

interface Item extends Timed {
  name: string;
}

const item = (name: string): Item => ({ name, deadline: 0, heapIndex: -1 });

describe("Deadlines", () => {
  it("expires each item when its own deadline passes, in deadline order, never before", () => {
    const clock = new VirtualClock();
    const expired: Array<[string, number]> = [];
    const deadlines = new Deadlines<Item>(clock, (it) => expired.push([it.name, clock.now()]));
    const start = clock.now();
    for (const [name, ms] of [
      ["c", 30],
      ["a", 10],
      ["d", 40],
      ["b", 20],
      ["a2", 10],
    ] as const)
      deadlines.add(item(name), ms);
    clock.advanceSync(9);
    assert.equal(expired.length, 0);
    clock.advanceSync(31);
    // Each at its own deadline (a and a2 share one, in either order).
    const due: Record<string, number> = { a: 10, a2: 10, b: 20, c: 30, d: 40 };
    assert.equal(expired.length, 5);
    for (const [name, at] of expired) assert.equal(at - start, due[name], name);
    assert.deepEqual(expired.map(([name]) => name).slice(2), ["b", "c", "d"]);
    assert.equal(deadlines.size, 0);
  });

  it("a removed item never expires; the timer moves on to the earliest left, and stops when none is", () => {
    const clock = new VirtualClock();
    const expired: string[] = [];
    const deadlines = new Deadlines<Item>(clock, (it) => expired.push(it.name));
    const items = Array.from({ length: 200 }, (_, i) => item(`r${i}`));
    for (const [i, it] of items.entries()) deadlines.add(it, 1000 + ((i * 37) % 200));
    // Settle every other one before its deadline, the earliest included.
    for (let i = 0; i < items.length; i += 2) deadlines.remove(items[i]!);
    deadlines.remove(items[0]!); // twice: nothing happens
    clock.advanceSync(2000);
    const expected = items
      .map((it, i) => ({ it, i, at: 1000 + ((i * 37) % 200) }))
      .filter(({ i }) => i % 2 === 1)
      .sort((x, y) => x.at - y.at || x.i - y.i)
      .map(({ it }) => it.name);
    assert.deepEqual([...expired].sort(), [...expected].sort());
    assert.equal(expired.length, 100);
    assert.equal(clock.pending, 0, "no timer is left armed");
  });

  it("arms for an earlier deadline added after a later one, and keeps no timer once all are removed", () => {
    const clock = new VirtualClock();
    const expired: string[] = [];
    const deadlines = new Deadlines<Item>(clock, (it) => expired.push(it.name));
    const late = item("late");
    const early = item("early");
    deadlines.add(late, 10_000);
    deadlines.add(early, 5);
    clock.advanceSync(5);
    assert.deepEqual(expired, ["early"]);
    deadlines.remove(late);
    assert.equal(clock.pending, 0);
    clock.advanceSync(20_000);
    assert.deepEqual(expired, ["early"]);
  });

  it("an item added again moves its deadline; clear forgets everything", () => {
    const clock = new VirtualClock();
    const expired: string[] = [];
    const deadlines = new Deadlines<Item>(clock, (it) => expired.push(it.name));
    const moved = item("moved");
    deadlines.add(moved, 10);
    deadlines.add(moved, 50);
    assert.equal(deadlines.size, 1);
    clock.advanceSync(49);
    assert.deepEqual(expired, []);
    clock.advanceSync(1);
    assert.deepEqual(expired, ["moved"]);
    deadlines.add(item("x"), 10);
    deadlines.clear();
    clock.advanceSync(100);
    assert.deepEqual(expired, ["moved"]);
    assert.equal(clock.pending, 0);
  });
});
