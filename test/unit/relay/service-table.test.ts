// ServiceTable: who serves which cluster, who listens to which topic, and how one member is picked for a
// request (the power of two random choices over max(reported load, outstanding requests)).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ServiceTable } from "../../../core/relay/service-table.ts";
import { seededRandom } from "../../fixtures/mesh.ts";

/** A random source that replays a script of values, then fails loudly if asked for more. */
function scripted(...values: number[]): () => number {
  let index = 0;
  return () => {
    const value = values[index++];
    if (value === undefined) throw new Error(`scripted random ran out after ${values.length} values`);
    return value;
  };
}

/** Values that make pickMember's two draws land on candidate indexes `first` and `second` of `n`. */
function drawsFor(first: number, second: number, n: number): number[] {
  assert.notEqual(first, second);
  // pickMember draws first from [0, n) and second from [0, n - 1), skipping over `first`.
  const secondDraw = second > first ? second - 1 : second;
  return [(first + 0.5) / n, (secondDraw + 0.5) / (n - 1)];
}

describe("ServiceTable membership", () => {
  test("members are added once per holder and removed, and empty clusters disappear", () => {
    const table = new ServiceTable<string>();
    table.addMember("c1", "a");
    table.addMember("c1", "b");
    table.addMember("c1", "a");
    table.addMember("c2", "a");
    assert.equal(table.memberCount("c1"), 2);
    assert.deepEqual([...table.membersOf("c1")].sort(), ["a", "b"]);
    assert.deepEqual(table.clusterIds().sort(), ["c1", "c2"]);

    assert.equal(table.removeMember("c1", "a"), true);
    assert.equal(table.removeMember("c1", "a"), false, "removing twice reports nothing removed");
    assert.equal(table.removeMember("nope", "a"), false);
    assert.deepEqual([...table.membersOf("c1")], ["b"]);
    assert.equal(table.removeMember("c1", "b"), true);
    assert.equal(table.memberCount("c1"), 0);
    assert.deepEqual([...table.membersOf("c1")], []);
    assert.deepEqual(table.clusterIds(), ["c2"], "a cluster without members is forgotten");
  });

  test("adding a member again keeps its load", () => {
    const table = new ServiceTable<string>();
    table.addMember("c", "a");
    table.reportLoad("c", "a", 7);
    table.trackOutstanding("c", "a", 3);
    table.addMember("c", "a");
    assert.deepEqual(table.loadOf("c", "a"), { reported: 7, outstanding: 3 });
  });

  test("subscribers are added and removed, and empty topics disappear", () => {
    const table = new ServiceTable<string>();
    table.addSubscriber("t", "x");
    table.addSubscriber("t", "y");
    table.addSubscriber("t", "x");
    assert.deepEqual([...table.subscribersOf("t")].sort(), ["x", "y"]);
    assert.deepEqual(table.topicIds(), ["t"]);
    assert.equal(table.removeSubscriber("t", "x"), true);
    assert.equal(table.removeSubscriber("t", "x"), false);
    assert.equal(table.removeSubscriber("t", "y"), true);
    assert.deepEqual([...table.subscribersOf("t")], []);
    assert.deepEqual(table.topicIds(), []);
    // Topics and clusters are separate namespaces even with one id.
    table.addSubscriber("same", "x");
    assert.equal(table.memberCount("same"), 0);
  });

  test("load reports and outstanding counts apply to members only and never go negative", () => {
    const table = new ServiceTable<string>();
    table.reportLoad("c", "ghost", 5);
    table.trackOutstanding("c", "ghost", 1);
    assert.equal(table.loadOf("c", "ghost"), undefined);
    table.addMember("c", "a");
    table.trackOutstanding("c", "a", 2);
    table.trackOutstanding("c", "a", -5);
    assert.deepEqual(table.loadOf("c", "a"), { reported: 0, outstanding: 0 });
  });
});

describe("ServiceTable.pickMember", () => {
  test("returns undefined for an unknown or emptied cluster", () => {
    const table = new ServiceTable<string>(seededRandom(1));
    assert.equal(table.pickMember("none"), undefined);
    table.addMember("c", "a");
    table.removeMember("c", "a");
    assert.equal(table.pickMember("c"), undefined);
  });

  test("never returns the excluded holder, and undefined when it is the only one", () => {
    const table = new ServiceTable<string>(seededRandom(2));
    table.addMember("c", "a");
    assert.equal(table.pickMember("c", "a"), undefined);
    assert.equal(table.pickMember("c"), "a");
    table.addMember("c", "b");
    table.addMember("c", "d");
    // Make the excluded one the most attractive, so only the exclusion keeps it out.
    table.reportLoad("c", "b", 100);
    table.reportLoad("c", "d", 100);
    for (let i = 0; i < 500; i++) assert.notEqual(table.pickMember("c", "a"), "a");
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(table.pickMember("c", "a")!);
    assert.deepEqual([...seen].sort(), ["b", "d"]);
  });

  test("of the two sampled members, the one with lower reported load wins, in either draw order", () => {
    const members = ["m0", "m1", "m2", "m3"];
    for (const [first, second] of [
      [0, 3],
      [3, 0],
      [1, 2],
      [2, 1],
    ] as const) {
      const table = new ServiceTable<string>(scripted(...drawsFor(first, second, members.length)));
      for (const m of members) table.addMember("c", m);
      table.reportLoad("c", members[first]!, 10);
      table.reportLoad("c", members[second]!, 2);
      assert.equal(table.pickMember("c"), members[second], `draws ${first},${second}`);
    }
  });

  test("load is max(reported, outstanding), not their sum", () => {
    // a: reported 3, outstanding 3 → 3 (sum 6); b: reported 4, outstanding 0 → 4. Max prefers a.
    const table = new ServiceTable<string>(scripted(...drawsFor(1, 0, 2)));
    table.addMember("c", "a");
    table.addMember("c", "b");
    table.reportLoad("c", "a", 3);
    table.trackOutstanding("c", "a", 3);
    table.reportLoad("c", "b", 4);
    assert.equal(table.pickMember("c"), "a");

    // Outstanding counts even when the member reports nothing: b has 5 unanswered, a reported 1.
    const table2 = new ServiceTable<string>(scripted(...drawsFor(0, 1, 2)));
    table2.addMember("c", "a");
    table2.addMember("c", "b");
    table2.reportLoad("c", "a", 1);
    table2.trackOutstanding("c", "b", 5);
    assert.equal(table2.pickMember("c"), "a");
  });

  test("a member more loaded than all others is never picked", () => {
    const table = new ServiceTable<string>(seededRandom(3));
    const members = Array.from({ length: 8 }, (_, i) => `m${i}`);
    for (const m of members) table.addMember("c", m);
    table.trackOutstanding("c", "m5", 50);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const picked = table.pickMember("c")!;
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
    }
    assert.equal(counts.get("m5") ?? 0, 0);
    assert.equal(counts.size, 7, "every other member was picked");
  });

  test("with equal loads the picks spread roughly evenly", () => {
    const table = new ServiceTable<string>(seededRandom(4));
    const members = Array.from({ length: 10 }, (_, i) => `m${i}`);
    for (const m of members) table.addMember("c", m);
    const picks = 20_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < picks; i++) {
      const picked = table.pickMember("c")!;
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
    }
    const expected = picks / members.length;
    for (const m of members) {
      const count = counts.get(m) ?? 0;
      assert.ok(Math.abs(count - expected) < expected * 0.15, `${m} picked ${count} times, expected about ${expected}`);
    }
  });

  test("tracking outstanding work as the relay does keeps members within a small band", () => {
    const table = new ServiceTable<string>(seededRandom(5));
    const members = Array.from({ length: 10 }, (_, i) => `m${i}`);
    for (const m of members) table.addMember("c", m);
    // 1,000 requests sent and none answered yet: each pick raises that member's outstanding count.
    for (let i = 0; i < 1000; i++) table.trackOutstanding("c", table.pickMember("c")!, 1);
    const loads = members.map((m) => table.loadOf("c", m)!.outstanding);
    assert.equal(
      loads.reduce((a, b) => a + b, 0),
      1000,
    );
    assert.ok(Math.max(...loads) - Math.min(...loads) <= 10, `outstanding per member: ${loads.join(", ")}`);
  });
});
