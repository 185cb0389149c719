// The route the dashboard draws for one of its requests (web-demo/app/topology/routes.ts): up the
// cluster's tree as the relays report it, down to the member's relay, and straight over a direct link.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildTopology } from "../../../web-demo/app/topology/model.ts";
import { routeOf } from "../../../web-demo/app/topology/routes.ts";
import { A1, A2, A3, R1, R2, R3, link, peer, report, tree } from "../../fixtures/dashboard/reports.ts";

const C = "c1".repeat(16);

/** Caller on relay 1, member on relay 3; `trees` gives each relay's place in the cluster's tree. */
function scene(trees: Array<[string, string | null] | null>) {
  const ids = [R1, R2, R3];
  const reports = new Map(
    ids.map((id, i) => {
      const place = trees[i];
      return [
        id,
        report(id, {
          links: ids.filter((other) => other !== id).map((other) => link(other)),
          peers:
            i === 0 ? [peer("caller", "dashboard tab")] : i === 2 ? [peer("member", "node echo-member-1", [C])] : [],
          trees: place ? [tree(place[0], place[1])] : [],
        }),
      ];
    }),
  );
  return buildTopology({
    ownRelay: R1,
    reports,
    addresses: new Map(),
    stackRelays: [A1, A2, A3],
    control: null,
    selfPeer: "caller",
    directPeers: [],
  });
}

describe("request routes", () => {
  test("up the tree to its root and down to the member's relay, as every relay reports its place", () => {
    // Root at relay 2; relays 1 and 3 are its children.
    const topology = scene([
      [C, R2],
      [C, null],
      [C, R2],
    ]);
    assert.deepEqual(routeOf(topology, C, "caller", "member", false), {
      hops: ["caller", A1, A2, A3, "member"],
      kind: "relay",
      approximate: false,
    });
  });

  test("the member on the root's own relay: up and back down are the same relay, drawn once", () => {
    const topology = scene([[C, R3], null, [C, null]]);
    assert.deepEqual(routeOf(topology, C, "caller", "member", false)?.hops, ["caller", A1, A3, "member"]);
  });

  test("a relay with no place in the tree is drawn one step to the root, and says it is approximate", () => {
    const topology = scene([null, [C, null], [C, R2]]);
    assert.deepEqual(routeOf(topology, C, "caller", "member", false), {
      hops: ["caller", A1, A2, A3, "member"],
      kind: "relay",
      approximate: true,
    });
  });

  test("over a direct link: peer to peer, no relay", () => {
    const topology = scene([
      [C, R2],
      [C, null],
      [C, R2],
    ]);
    assert.deepEqual(routeOf(topology, C, "caller", "member", true), {
      hops: ["caller", "member"],
      kind: "direct",
      approximate: false,
    });
  });

  test("no route for a member the relays do not report", () => {
    assert.equal(routeOf(scene([[C, null], null, null]), C, "caller", "nobody", false), null);
  });
});
