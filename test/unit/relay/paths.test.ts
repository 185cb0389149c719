// The relay's short-lived routing state: requests waiting for replies and tunnels between a caller and
// its member. Every index must agree with the entries after every operation, and nothing may stay
// indexed once its entries are gone.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PendingRequests, TunnelPaths, pathKey } from "../../../core/relay/paths.ts";
import type { PendingRequest, TunnelPath } from "../../../core/relay/paths.ts";

interface Hop {
  readonly name: string;
}

const caller: Hop = { name: "caller" };
const hopA: Hop = { name: "A" };
const hopB: Hop = { name: "B" };
const hopC: Hop = { name: "C" };

function request(callerHex: string, reqId: number, from: Hop, to: Hop, deadline: number): PendingRequest<Hop> {
  return {
    key: pathKey(callerHex, reqId),
    clusterId: "cluster",
    callerHex,
    origin: new Uint8Array(16),
    reqId,
    frame: Uint8Array.of(1, 0x20, 64, 0, reqId),
    from,
    to,
    mode: "up",
    above: null,
    tried: new Set(),
    placedAgain: false,
    deadline,
  };
}

const keys = (entries: Array<{ key: string }>) => entries.map((entry) => entry.key).sort();

describe("PendingRequests", () => {
  test("pathKey separates callers and local ids", () => {
    assert.notEqual(pathKey("ab", 1), pathKey("ab", 11));
    assert.notEqual(pathKey("ab", 1), pathKey("a", 1));
    assert.equal(pathKey("ab", 1), pathKey("ab", 1));
  });

  test("add, get, sentTo and cameFrom agree", () => {
    const pending = new PendingRequests<Hop>();
    const r1 = request("c1", 1, caller, hopA, 100);
    const r2 = request("c1", 2, caller, hopA, 100);
    const r3 = request("c2", 1, hopC, hopB, 100);
    for (const r of [r1, r2, r3]) pending.add(r);
    assert.equal(pending.size, 3);
    assert.equal(pending.get(pathKey("c1", 2)), r2);
    assert.equal(pending.get(pathKey("c9", 1)), undefined);
    assert.deepEqual(keys(pending.sentTo(hopA)), keys([r1, r2]));
    assert.deepEqual(keys(pending.sentTo(hopB)), [r3.key]);
    assert.deepEqual(keys(pending.cameFrom(caller)), keys([r1, r2]));
    assert.deepEqual(keys(pending.cameFrom(hopC)), [r3.key]);
    assert.deepEqual(pending.sentTo(hopC), [], "a hop requests came from is not a hop they went to");
    assert.deepEqual(pending.cameFrom(hopA), []);
  });

  test("redirect moves a request to its new hop; the old hop is no longer indexed", () => {
    const pending = new PendingRequests<Hop>();
    const r1 = request("c1", 1, caller, hopA, 100);
    pending.add(r1);
    pending.redirect(r1, hopB);
    assert.equal(r1.to, hopB);
    assert.deepEqual(pending.sentTo(hopA), []);
    assert.deepEqual(keys(pending.sentTo(hopB)), [r1.key]);
    assert.equal(pending.indexedHops, 2, "caller and B only");
  });

  test("rebase follows a caller that came back over another hop", () => {
    const pending = new PendingRequests<Hop>();
    const r1 = request("c1", 1, caller, hopA, 100);
    pending.add(r1);
    pending.rebase(r1, hopC);
    assert.equal(r1.from, hopC);
    assert.deepEqual(pending.cameFrom(caller), []);
    assert.deepEqual(keys(pending.cameFrom(hopC)), [r1.key]);
  });

  test("a request from and to the same hop (a member calling its own cluster) is indexed once and found both ways", () => {
    const pending = new PendingRequests<Hop>();
    const self = request("me", 1, hopA, hopA, 100);
    pending.add(self);
    assert.deepEqual(keys(pending.sentTo(hopA)), [self.key]);
    assert.deepEqual(keys(pending.cameFrom(hopA)), [self.key]);
    pending.delete(self);
    assert.equal(pending.indexedHops, 0);
  });

  test("delete removes the entry and its indexes, and is harmless twice", () => {
    const pending = new PendingRequests<Hop>();
    const r1 = request("c1", 1, caller, hopA, 100);
    const r2 = request("c1", 2, caller, hopA, 100);
    pending.add(r1);
    pending.add(r2);
    pending.delete(r1);
    assert.equal(pending.get(r1.key), undefined);
    assert.deepEqual(keys(pending.sentTo(hopA)), [r2.key]);
    pending.delete(r1);
    assert.equal(pending.size, 1);
    pending.delete(r2);
    assert.equal(pending.size, 0);
    assert.equal(pending.indexedHops, 0);
  });

  test("expire removes and returns exactly the entries due at or before now", () => {
    const pending = new PendingRequests<Hop>();
    const early = request("c1", 1, caller, hopA, 50);
    const exact = request("c1", 2, caller, hopB, 100);
    const late = request("c1", 3, caller, hopA, 101);
    for (const r of [early, exact, late]) pending.add(r);
    assert.deepEqual(pending.expire(49), []);
    assert.deepEqual(keys(pending.expire(100)), keys([early, exact]));
    assert.equal(pending.size, 1);
    assert.deepEqual(keys(pending.sentTo(hopA)), [late.key]);
    assert.deepEqual(pending.sentTo(hopB), []);
    assert.deepEqual(pending.expire(1000), [late]);
    assert.equal(pending.indexedHops, 0);
  });
});

function tunnel(callerHex: string, tunnelId: number, towardCaller: Hop, towardMember: Hop): TunnelPath<Hop> {
  return {
    key: pathKey(callerHex, tunnelId),
    clusterId: "cluster",
    callerHex,
    origin: new Uint8Array(16),
    tunnelId,
    openFrame: null,
    towardCaller,
    towardMember,
    mode: "up",
    above: null,
    tried: new Set(),
    accepted: false,
    closedToMember: false,
    closedToCaller: false,
  };
}

describe("TunnelPaths", () => {
  test("involving finds tunnels by either hop and by caller id", () => {
    const paths = new TunnelPaths<Hop>();
    const t1 = tunnel("caller1", 1, caller, hopA);
    const t2 = tunnel("caller1", 2, caller, hopB);
    const t3 = tunnel("caller2", 1, hopC, hopA);
    for (const t of [t1, t2, t3]) paths.add(t);
    assert.equal(paths.size, 3);
    assert.equal(paths.get(pathKey("caller1", 2)), t2);
    assert.deepEqual(keys(paths.involving(hopA)), keys([t1, t3]));
    assert.deepEqual(keys(paths.involving(hopB)), [t2.key]);
    assert.deepEqual(keys(paths.involving(hopC)), [t3.key]);
    assert.deepEqual(keys(paths.involving("caller1")), keys([t1, t2]));
    assert.deepEqual(paths.involving("nobody"), []);
  });

  test("redirect moves the member side; delete cleans every index and is harmless twice", () => {
    const paths = new TunnelPaths<Hop>();
    const t1 = tunnel("caller1", 1, caller, hopA);
    paths.add(t1);
    paths.redirect(t1, hopB);
    assert.deepEqual(paths.involving(hopA), []);
    assert.deepEqual(keys(paths.involving(hopB)), [t1.key]);
    paths.delete(t1);
    paths.delete(t1);
    assert.equal(paths.size, 0);
    assert.deepEqual(paths.involving(hopB), []);
    assert.deepEqual(paths.involving("caller1"), []);
    assert.equal(paths.indexedHops, 0, "no empty index sets are left behind");
  });
});

describe("one hop on both sides of an entry", () => {
  test("moving the far side away keeps the entry indexed under the near side", () => {
    const pending = new PendingRequests<Hop>();
    const entry = request("c1", 1, hopA, hopA, 100);
    pending.add(entry);
    pending.redirect(entry, hopB);
    assert.deepEqual(keys(pending.cameFrom(hopA)), [entry.key]);
    assert.deepEqual(keys(pending.sentTo(hopB)), [entry.key]);
    const paths = new TunnelPaths<Hop>();
    const path = tunnel("c1", 1, hopA, hopA);
    paths.add(path);
    paths.redirect(path, hopB);
    assert.deepEqual(keys(paths.involving(hopA)), [path.key]);
  });
});
