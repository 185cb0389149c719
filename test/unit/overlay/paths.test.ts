// The relay's short-lived routing state: requests waiting for replies and tunnels between a caller and
// its member. Every index must agree with the entries after every operation.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PendingRequests, TunnelPaths, pathKey } from "../../../core/overlay/paths.ts";
import type { PendingRequest, TunnelPath } from "../../../core/overlay/paths.ts";

interface Holder {
  readonly name: string;
}

const memberA: Holder = { name: "A" };
const memberB: Holder = { name: "B" };
const memberC: Holder = { name: "C" };

function request(callerHex: string, reqId: number, member: Holder, deadline: number): PendingRequest<Holder> {
  return {
    key: pathKey(callerHex, reqId),
    clusterId: "cluster",
    callerHex,
    origin: new Uint8Array(16),
    reqId,
    frame: Uint8Array.of(1, 0x20, 0, reqId),
    member,
    retried: false,
    deadline,
  };
}

function keysAt(pending: PendingRequests<Holder>, member: Holder): string[] {
  return pending
    .atMember(member)
    .map((entry) => entry.key)
    .sort();
}

/** The per-member index is private; a leak there is invisible through the API, so peek at its size. */
function indexedMembers(pending: PendingRequests<Holder>): number {
  return (pending as unknown as { byMember: Map<Holder, Set<string>> }).byMember.size;
}

describe("PendingRequests", () => {
  test("pathKey separates callers and local ids", () => {
    assert.notEqual(pathKey("ab", 1), pathKey("ab", 11));
    assert.notEqual(pathKey("ab", 1), pathKey("a", 1));
    assert.equal(pathKey("ab", 1), pathKey("ab", 1));
  });

  test("add, get and atMember agree", () => {
    const pending = new PendingRequests<Holder>();
    const r1 = request("c1", 1, memberA, 100);
    const r2 = request("c1", 2, memberA, 100);
    const r3 = request("c2", 1, memberB, 100);
    for (const r of [r1, r2, r3]) pending.add(r);
    assert.equal(pending.size, 3);
    assert.equal(pending.get(pathKey("c1", 2)), r2);
    assert.equal(pending.get(pathKey("c9", 1)), undefined);
    assert.deepEqual(keysAt(pending, memberA), [r1.key, r2.key].sort());
    assert.deepEqual(keysAt(pending, memberB), [r3.key]);
    assert.deepEqual(pending.atMember(memberC), []);
  });

  test("reassign moves a request to its new member and marks it retried", () => {
    const pending = new PendingRequests<Holder>();
    const r1 = request("c1", 1, memberA, 100);
    const r2 = request("c1", 2, memberA, 100);
    pending.add(r1);
    pending.add(r2);
    pending.reassign(r1, memberB);
    assert.equal(r1.member, memberB);
    assert.equal(r1.retried, true);
    assert.equal(r2.retried, false);
    assert.deepEqual(keysAt(pending, memberA), [r2.key]);
    assert.deepEqual(keysAt(pending, memberB), [r1.key]);
    assert.equal(pending.get(r1.key), r1);
    assert.equal(pending.size, 2);
  });

  test("a member whose last request moved elsewhere is dropped from the index", () => {
    // A relay retries every request of a dead member; the dead member must not stay referenced.
    const pending = new PendingRequests<Holder>();
    const r1 = request("c1", 1, memberA, 100);
    pending.add(r1);
    pending.reassign(r1, memberB);
    assert.deepEqual(pending.atMember(memberA), []);
    assert.equal(indexedMembers(pending), 1, "only member B is still indexed");
    pending.delete(r1);
    assert.equal(indexedMembers(pending), 0);
  });

  test("delete removes the entry and its index, and is harmless twice", () => {
    const pending = new PendingRequests<Holder>();
    const r1 = request("c1", 1, memberA, 100);
    const r2 = request("c1", 2, memberA, 100);
    pending.add(r1);
    pending.add(r2);
    pending.delete(r1);
    assert.equal(pending.get(r1.key), undefined);
    assert.deepEqual(keysAt(pending, memberA), [r2.key]);
    pending.delete(r1);
    assert.equal(pending.size, 1);
    pending.delete(r2);
    assert.equal(pending.size, 0);
    assert.deepEqual(pending.atMember(memberA), []);
    assert.equal(indexedMembers(pending), 0);
  });

  test("expire removes and returns exactly the entries due at or before now", () => {
    const pending = new PendingRequests<Holder>();
    const early = request("c1", 1, memberA, 50);
    const exact = request("c1", 2, memberB, 100);
    const late = request("c1", 3, memberA, 101);
    for (const r of [early, exact, late]) pending.add(r);
    assert.deepEqual(pending.expire(49), []);
    const expired = pending.expire(100);
    assert.deepEqual(expired.map((r) => r.key).sort(), [early.key, exact.key].sort());
    assert.equal(pending.size, 1);
    assert.equal(pending.get(early.key), undefined);
    assert.deepEqual(keysAt(pending, memberA), [late.key]);
    assert.deepEqual(pending.atMember(memberB), []);
    assert.deepEqual(pending.expire(1000), [late]);
    assert.equal(pending.size, 0);
    assert.equal(indexedMembers(pending), 0);
  });
});

function tunnel(callerHex: string, tunnelId: number, member: Holder): TunnelPath<Holder> {
  return {
    key: pathKey(callerHex, tunnelId),
    clusterId: "cluster",
    callerHex,
    origin: new Uint8Array(16),
    tunnelId,
    member,
    accepted: false,
    closedToMember: false,
    closedToCaller: false,
  };
}

function keysOf(paths: TunnelPath<Holder>[]): string[] {
  return paths.map((path) => path.key).sort();
}

describe("TunnelPaths", () => {
  test("involving finds tunnels by serving member and by caller", () => {
    const paths = new TunnelPaths<Holder>();
    const t1 = tunnel("caller1", 1, memberA);
    const t2 = tunnel("caller1", 2, memberB);
    const t3 = tunnel("caller2", 1, memberA);
    for (const t of [t1, t2, t3]) paths.add(t);
    assert.equal(paths.size, 3);
    assert.equal(paths.get(pathKey("caller1", 2)), t2);
    assert.deepEqual(keysOf(paths.involving(memberA)), [t1.key, t3.key].sort());
    assert.deepEqual(keysOf(paths.involving(memberB)), [t2.key]);
    assert.deepEqual(keysOf(paths.involving("caller1")), [t1.key, t2.key].sort());
    assert.deepEqual(keysOf(paths.involving("caller2")), [t3.key]);
    assert.deepEqual(paths.involving(memberC), []);
    assert.deepEqual(paths.involving("nobody"), []);
  });

  test("delete cleans both indexes and is harmless twice", () => {
    const paths = new TunnelPaths<Holder>();
    const t1 = tunnel("caller1", 1, memberA);
    const t2 = tunnel("caller1", 2, memberA);
    paths.add(t1);
    paths.add(t2);
    paths.delete(t1);
    assert.equal(paths.get(t1.key), undefined);
    assert.deepEqual(keysOf(paths.involving(memberA)), [t2.key]);
    assert.deepEqual(keysOf(paths.involving("caller1")), [t2.key]);
    paths.delete(t1);
    assert.equal(paths.size, 1);
    paths.delete(t2);
    assert.equal(paths.size, 0);
    assert.deepEqual(paths.involving(memberA), []);
    assert.deepEqual(paths.involving("caller1"), []);
    const index = (paths as unknown as { byHolder: Map<unknown, unknown> }).byHolder;
    assert.equal(index.size, 0, "no empty index sets are left behind");
  });

  test("a peer that is caller of one tunnel and member of another is indexed in both roles", () => {
    const paths = new TunnelPaths<Holder>();
    const asMember = tunnel("someone", 1, memberA);
    const asCaller = tunnel("A-hex", 1, memberB);
    paths.add(asMember);
    paths.add(asCaller);
    assert.deepEqual(keysOf(paths.involving(memberA)), [asMember.key]);
    assert.deepEqual(keysOf(paths.involving("A-hex")), [asCaller.key]);
  });
});
