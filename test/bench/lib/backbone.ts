// Three relays as one backbone: A first, then B and C seeded with A's address. The sending role is given
// relay A and the receiving roles relay C, so every message crosses at least one relay-to-relay link.

import type { RelaySnapshot } from "../../../core/node.ts";
import type { Logged } from "./logged.ts";
import { fetchStatus, relayStats, startRelay, statusUrl } from "./relays.ts";
import { isRoutineRelayLine } from "./relay-log.ts";
import type { Route, Server, ServiceKind } from "./servers.ts";

const BACKBONE = ["A", "B", "C"] as const;
const BACKBONE_TIMEOUT_MS = 15_000;
const MESH_TIMEOUT_MS = 10_000;
const ROUTE_TIMEOUT_MS = 15_000;
export const STATUS_POLL_MS = 20;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The backbone is ready once every relay's status shows at least one link and the two other relays in
 * its directory, and (waited for as well) each relay is linked to both others.
 */
export async function startBackbone(keys: Record<string, string>): Promise<Server> {
  const relays: Logged[] = [];
  let listening = 0;
  try {
    const a = await startRelay([]);
    relays.push(a);
    // B and C need only A, so they start together; both are kept even if one fails, to be stopped.
    const others = await Promise.allSettled([startRelay([a.match]), startRelay([a.match])]);
    for (const other of others) if (other.status === "fulfilled") relays.push(other.value);
    for (const other of others) if (other.status === "rejected") throw other.reason;
    listening = performance.now();
  } catch (error) {
    await Promise.all(relays.map((relay) => relay.stop()));
    throw error;
  }
  const stopAll = async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
  };
  const statusUrls = relays.map(statusUrl);
  let readyAtLine: number[];
  let meshedMs = 0;
  const notes: string[] = [];
  try {
    await waitForBackbone(statusUrls);
    // Ready by the relays' own signal. B and C can still be linked only through A for a moment (they
    // find each other through A; now and then only seconds later): wait for that link too, so the
    // trees are not rebuilt in the middle of a measurement.
    const meshed = await waitForFullMesh(statusUrls);
    meshedMs = performance.now() - listening;
    if (meshed !== true)
      notes.push(
        `backbone: not every relay was linked to both others after ${MESH_TIMEOUT_MS} ms (${meshed}); measured anyway`,
      );
    // What a relay logs until the backbone is up (listening, linking, a duplicate link closed) is routine.
    readyAtLine = relays.map((relay) => relay.lines().length - 1);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const [sender, , receiver] = relays as [Logged, Logged, Logged];
  const named = relays.map((relay, index) => ({ name: `relay ${BACKBONE[index]}`, relay }));
  return {
    sender: { system: "iris", relay: sender.match, keys },
    receiver: { system: "iris", relay: receiver.match, keys },
    routeReady: async (kind, count = 1) => ({ ...(await waitForRoute(statusUrls, kind, count)), meshedMs }),
    warnings: () =>
      notes.concat(
        relays.flatMap((relay, index) =>
          relay
            .lines()
            .filter((line, at) => !isRoutineRelayLine(line, at < readyAtLine[index]!))
            .map((line) => `relay ${BACKBONE[index]}: ${line}`),
        ),
      ),
    lines: () => relays.flatMap((relay) => relay.lines()),
    name: (text) => named.reduce((out, { name, relay }) => out.split(relay.match).join(name), text),
    processes: () => named.map(({ name, relay }) => ({ name, pid: relay.pid })),
    stats: () => relayStats(named),
    stop: stopAll,
  };
}

function describeLinks(snapshots: Array<RelaySnapshot | null>): string {
  return snapshots
    .map((snapshot, index) =>
      snapshot
        ? `${BACKBONE[index]}: ${snapshot.links.length} links, ${snapshot.directory.length} in directory`
        : `${BACKBONE[index]}: no status`,
    )
    .join("; ");
}

async function waitForBackbone(statusUrls: string[]): Promise<void> {
  const deadline = performance.now() + BACKBONE_TIMEOUT_MS;
  for (;;) {
    const snapshots = await Promise.all(statusUrls.map(fetchStatus));
    if (snapshots.every((snapshot) => snapshot && snapshot.links.length >= 1 && snapshot.directory.length >= 2)) return;
    if (performance.now() > deadline) {
      throw new Error(
        `the three relays did not form a backbone within ${BACKBONE_TIMEOUT_MS} ms (${describeLinks(snapshots)})`,
      );
    }
    await pause(STATUS_POLL_MS);
  }
}

/** True once every relay is linked to both others; else, after MESH_TIMEOUT_MS, what the links were. */
async function waitForFullMesh(statusUrls: string[]): Promise<true | string> {
  const deadline = performance.now() + MESH_TIMEOUT_MS;
  for (;;) {
    const snapshots = await Promise.all(statusUrls.map(fetchStatus));
    if (snapshots.every((snapshot) => snapshot && snapshot.links.length >= statusUrls.length - 1)) return true;
    if (performance.now() > deadline) return describeLinks(snapshots);
    await pause(STATUS_POLL_MS);
  }
}

/**
 * Waits until the tree of the service joined on relay C counts all `count` of C's subscribers or members
 * at its root, then reads the way from A: up to the root (A's closest linked relay to the service id,
 * which in a full mesh is the root itself), then down the tree's parent links to C. Publishes,
 * broadcasts, requests and tunnel opens all climb to the root and descend the tree, and replies retrace
 * the request's path.
 */
async function waitForRoute(statusUrls: string[], kind: ServiceKind, count: number): Promise<Omit<Route, "meshedMs">> {
  const started = performance.now();
  const deadline = started + ROUTE_TIMEOUT_MS;
  let last = "no status yet";
  for (;;) {
    const snapshots = await Promise.all(statusUrls.map(fetchStatus));
    if (snapshots.every((snapshot) => snapshot !== null)) {
      const found = routeIn(snapshots as RelaySnapshot[], kind, count);
      if (typeof found !== "string") return { ...found, settledMs: performance.now() - started };
      last = found;
    }
    if (performance.now() > deadline) {
      throw new Error(
        `the ${kind} joined on relay C was not routable from relay A within ${ROUTE_TIMEOUT_MS} ms: ${last}`,
      );
    }
    await pause(STATUS_POLL_MS);
  }
}

/** The route, or why there is none yet. */
function routeIn(
  snapshots: RelaySnapshot[],
  kind: ServiceKind,
  count: number,
): Omit<Route, "settledMs" | "meshedMs"> | string {
  const [a, , c] = snapshots as [RelaySnapshot, RelaySnapshot, RelaySnapshot];
  const letter = (relayId: string | null) => {
    const index = snapshots.findIndex((snapshot) => snapshot.relayId === relayId);
    return index >= 0 ? BACKBONE[index]! : `unknown relay ${relayId}`;
  };
  const joined =
    kind === "topic"
      ? c.topics.filter((topic) => topic.subscribers > 0)
      : c.clusters.filter((cluster) => cluster.members > 0);
  if (joined.length !== 1)
    return `relay C has ${joined.length} ${kind}s with local ${kind === "topic" ? "subscribers" : "members"}, expected 1`;
  const id = joined[0]!.id;
  // Down from C toward the root along parent links.
  const chain: RelaySnapshot[] = [c];
  for (;;) {
    const here = chain[chain.length - 1]!;
    const tree = here.trees.find((candidate) => candidate.id === id);
    if (!tree) return `relay ${letter(here.relayId)} has no tree for the ${kind}`;
    if (tree.root) {
      const below = tree.local + tree.children.reduce((sum, child) => sum + child.count, 0);
      if (below < count) return `the root, relay ${letter(here.relayId)}, counts ${below} of ${count} below it`;
      break;
    }
    const parent = snapshots.find((snapshot) => snapshot.relayId === tree.parent);
    if (!parent) return `relay ${letter(here.relayId)} reports to ${letter(tree.parent)}`;
    if (chain.includes(parent)) return `the tree has a loop through relay ${letter(parent.relayId)}`;
    chain.push(parent);
  }
  const root = chain[chain.length - 1]!;
  const down = chain.reverse().map((snapshot) => letter(snapshot.relayId));
  if (root === a) return { rendezvous: "A", relayHops: down.length - 1, path: down.join(" -> ") };
  const direct = a.links.some((link) => link.relayId === root.relayId);
  if (!direct) return `relay A is not linked to the root, relay ${letter(root.relayId)}`;
  return { rendezvous: letter(root.relayId), relayHops: down.length, path: ["A", ...down].join(" -> ") };
}
