// The servers under comparison, each started fresh on 127.0.0.1 for one scenario: an iris-mesh relay
// process (relay-server/cli.ts), a backbone of three such relays, or Debian's nats-server. All pick a
// free port themselves and log it, so there is no race for a port chosen in advance.

import { accessSync, constants } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RelaySnapshot } from "../../../core/node.ts";
import type { Endpoint, System } from "../protocol.ts";
import { nodeFlags, stop, track } from "./processes.ts";

/** What the receiving role joined: a topic (subscriber) or a cluster (member). */
export type ServiceKind = "topic" | "cluster";

/** The way traffic from the sending role's relay to the receiving role's relay takes through a backbone. */
export interface Route {
  /** The relay the service's tree is rooted at (its rendezvous), by its letter: A, B or C. */
  rendezvous: string;
  /** Relay-to-relay links crossed one way, sender's relay to receiver's relay. */
  relayHops: number;
  /** For example "A -> B -> C". */
  path: string;
  /** From the receiver's join being confirmed by its relay to the rendezvous relay counting it. */
  settledMs: number;
  /** From B and C listening to every relay being linked to both others. */
  meshedMs: number;
}

export interface Server {
  /** Where the sending role (publisher, requester) connects. */
  readonly sender: Endpoint;
  /** Where the receiving role (subscriber, responder) connects: the same server, except on a backbone. */
  readonly receiver: Endpoint;
  /**
   * Resolves once the receiving role's subscription or membership has reached every relay on the way
   * from the sender, and says which way that is; null for a single server, where the confirmation of the
   * join already means this.
   */
  routeReady(kind: ServiceKind): Promise<Route | null>;
  /** What the server logged that a reader of the figures should know: slow consumers, errors. */
  warnings(): string[];
  /** Replaces the relays' addresses in `text` with their names ("relay A"), for printing. */
  name(text: string): string;
  stop(): Promise<void>;
}

function namer(names: Array<[string, string]>): (text: string) => string {
  return (text) => names.reduce((named, [address, name]) => named.split(address).join(name), text);
}

export const INSTALL_NATS_HINT = "apt-get install -y nats-server";

const RELAY_CLI = fileURLToPath(new URL("../../../relay-server/cli.ts", import.meta.url));
const START_TIMEOUT_MS = 15_000;

/**
 * The nats-server binary: IRIS_BENCH_NATS if set ("none" skips NATS), else the first on PATH or in
 * /usr/sbin (where Debian puts it, often off a user's PATH).
 */
export function findNatsServer(): string | null {
  const chosen = process.env.IRIS_BENCH_NATS;
  if (chosen === "none") return null;
  const candidates = chosen
    ? [chosen]
    : [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/sbin", "/usr/local/sbin"].map((dir) =>
        join(dir, "nats-server"),
      );
  return candidates.find(isExecutable) ?? null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function natsServerVersion(binary: string): string {
  return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
}

export async function startServer(
  system: System,
  keys: Record<string, string>,
  natsBinary: string | null,
): Promise<Server> {
  if (system === "iris") {
    const relay = await startRelay([]);
    const endpoint: Endpoint = { system: "iris", relay: relay.match, keys };
    return {
      sender: endpoint,
      receiver: endpoint,
      routeReady: async () => null,
      warnings: () => relay.lines().filter((line) => line !== "" && !ROUTINE_RELAY_LINE.test(line)),
      name: namer([[relay.match, "the relay"]]),
      stop: relay.stop,
    };
  }
  if (system === "iris3") return startBackbone(keys);
  if (!natsBinary) throw new Error(`nats-server is not installed (${INSTALL_NATS_HINT})`);
  const nats = await startLogged(natsBinary, ["-a", "127.0.0.1", "-p", "-1"], {
    ready: /Listening for client connections on (\S+)/,
    // The address is logged a line before the server accepts clients.
    after: /Server is ready/,
  });
  const endpoint: Endpoint = { system: "nats", server: nats.match };
  return {
    sender: endpoint,
    receiver: endpoint,
    routeReady: async () => null,
    warnings: () => nats.lines().filter((line) => /\[(WRN|ERR|FTL)\]/.test(line)),
    name: namer([[nats.match, "the server"]]),
    stop: nats.stop,
  };
}

// With --log quiet a relay prints only what is out of the ordinary, besides starting and stopping (and,
// on a backbone, linking to the other relays).
const ROUTINE_RELAY_LINE = /^\S+ relay-(listening|stopping|stopped)\b/;
const ROUTINE_BACKBONE_STARTUP_LINE = /^\S+ relay-(listening|linked|unlinked)\b/;

/**
 * One relay process. A fresh relay waits up to --startup-grace for members before it answers "no
 * members"; that is for restarts, not for a benchmark, so it is off.
 */
function startRelay(seeds: string[], extraArgs: string[] = []): Promise<Logged> {
  const args = [...nodeFlags(), RELAY_CLI, "--port", "0", "--log", "quiet", "--startup-grace", "0", ...extraArgs];
  for (const seed of seeds) args.push("--seed", seed);
  return startLogged(process.execPath, args, { ready: /relay-listening url=(\S+)/ });
}

const BACKBONE = ["A", "B", "C"] as const;
const BACKBONE_TIMEOUT_MS = 15_000;
const MESH_TIMEOUT_MS = 10_000;
const ROUTE_TIMEOUT_MS = 15_000;
export const STATUS_POLL_MS = 20;

/**
 * Three relays as one backbone: A first, then B and C seeded with A's address. They link among
 * themselves; the backbone is ready once every relay's status page shows at least one link and the two
 * other relays in its directory, and (waited for as well) each relay is linked to both others. The
 * sending role is given relay A and the receiving role relay C, so every message crosses at least one
 * relay-to-relay link.
 */
async function startBackbone(keys: Record<string, string>): Promise<Server> {
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
  const statusUrls = relays.map((relay) => relay.match.replace(/^ws/, "http") + "/status");
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
  return {
    sender: { system: "iris", relay: sender.match, keys },
    receiver: { system: "iris", relay: receiver.match, keys },
    routeReady: async (kind) => ({ ...(await waitForRoute(statusUrls, kind)), meshedMs }),
    warnings: () =>
      notes.concat(
        relays.flatMap((relay, index) =>
          relay
            .lines()
            .filter(
              (line, at) =>
                line !== "" &&
                !(at < readyAtLine[index]! ? ROUTINE_BACKBONE_STARTUP_LINE : ROUTINE_RELAY_LINE).test(line),
            )
            .map((line) => `relay ${BACKBONE[index]}: ${line}`),
        ),
      ),
    name: namer(relays.map((relay, index) => [relay.match, `relay ${BACKBONE[index]}`])),
    stop: stopAll,
  };
}

async function fetchStatus(url: string): Promise<RelaySnapshot | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    // 503 while the relay is still starting.
    return response.ok ? ((await response.json()) as RelaySnapshot) : null;
  } catch {
    return null;
  }
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
    await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS));
  }
}

/** True once every relay is linked to both others; else, after MESH_TIMEOUT_MS, what the links were. */
async function waitForFullMesh(statusUrls: string[]): Promise<true | string> {
  const deadline = performance.now() + MESH_TIMEOUT_MS;
  for (;;) {
    const snapshots = await Promise.all(statusUrls.map(fetchStatus));
    if (snapshots.every((snapshot) => snapshot && snapshot.links.length >= statusUrls.length - 1)) return true;
    if (performance.now() > deadline) return describeLinks(snapshots);
    await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS));
  }
}

/**
 * Waits until the tree of the service joined on relay C counts C's subscriber or member at its root, then
 * reads the way from A: up to the root (A's closest linked relay to the service id, which in a full mesh
 * is the root itself), then down the tree's parent links to C. Publishes, broadcasts and requests all
 * climb to the root and descend the tree, and replies retrace the request's path.
 */
async function waitForRoute(statusUrls: string[], kind: ServiceKind): Promise<Omit<Route, "meshedMs">> {
  const started = performance.now();
  const deadline = started + ROUTE_TIMEOUT_MS;
  let last = "no status yet";
  for (;;) {
    const snapshots = await Promise.all(statusUrls.map(fetchStatus));
    if (snapshots.every((snapshot) => snapshot !== null)) {
      const found = routeIn(snapshots as RelaySnapshot[], kind);
      if (typeof found !== "string") return { ...found, settledMs: performance.now() - started };
      last = found;
    }
    if (performance.now() > deadline) {
      throw new Error(
        `the ${kind} joined on relay C was not routable from relay A within ${ROUTE_TIMEOUT_MS} ms: ${last}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS));
  }
}

/** The route, or why there is none yet. */
function routeIn(snapshots: RelaySnapshot[], kind: ServiceKind): Omit<Route, "settledMs" | "meshedMs"> | string {
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
      if (below < 1) return `the root, relay ${letter(here.relayId)}, counts nothing below it yet`;
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

/** A lone relay process with extra flags, for scenarios that watch the process itself. */
export function startLoneRelay(extraArgs: string[]): Promise<Logged> {
  return startRelay([], extraArgs);
}

export interface Logged {
  /** The first capture group of the `ready` pattern. */
  match: string;
  pid: number;
  lines(): string[];
  stop(): Promise<void>;
}

/** Spawns a server and resolves once its output matches `ready` (and `after`, if given). */
async function startLogged(
  command: string,
  args: string[],
  patterns: { ready: RegExp; after?: RegExp },
): Promise<Logged> {
  const child = track(spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] }));
  let log = "";
  let started = false;
  const match = await new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      stop(child, "SIGKILL", 0);
      reject(new Error(`${command} ${why}; it printed:\n${log}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      log += chunk.toString("utf8");
      if (started) return;
      const found = patterns.ready.exec(log);
      if (!found || (patterns.after && !patterns.after.test(log))) return;
      started = true;
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve(found[1]!);
    };
    const onExit = (code: number | null) => fail(`exited (${code}) before it was ready`);
    // Both streams stay drained for the server's whole life, so a chatty server never blocks on a pipe.
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
    child.once("error", (error) => fail(`could not start: ${error.message}`));
  });
  return { match, pid: child.pid!, lines: () => log.split("\n"), stop: () => stop(child) };
}
