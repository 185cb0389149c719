// The servers under comparison, each started fresh on 127.0.0.1 for one round: an iris-mesh relay
// process (relay-server/cli.ts), a backbone of three such relays, or Debian's nats-server. All pick a
// free port themselves and log it, so there is no race for a port chosen in advance.

import { accessSync, constants } from "node:fs";
import { execFileSync } from "node:child_process";
import { delimiter, join } from "node:path";
import type { RelaySnapshot } from "../../../core/node.ts";
import type { Endpoint, System } from "../protocol.ts";
import { startBackbone } from "./backbone.ts";
import type { MeteredProcess } from "./cpu.ts";
import { firstGroup, startLogged } from "./logged.ts";
import { singleRelay } from "./relays.ts";

export { STATUS_POLL_MS } from "./backbone.ts";

/** What the receiving roles joined: a topic (subscribers) or a cluster (members). */
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

/** A relay's traffic counters (since it started), by the name the bench gives the relay. */
export interface RelayStats {
  name: string;
  stats: NonNullable<RelaySnapshot["stats"]> | null;
}

export interface Server {
  /** Where the sending role (publisher, requester, tunnel caller) connects. */
  readonly sender: Endpoint;
  /** Where the receiving roles (subscribers, members) connect: the same server, except on a backbone. */
  readonly receiver: Endpoint;
  /**
   * Resolves once `count` receiving roles' subscriptions or memberships have reached every relay on the
   * way from the sender, and says which way that is; null for a single server, where the confirmation of
   * each join already means this.
   */
  routeReady(kind: ServiceKind, count?: number): Promise<Route | null>;
  /** What the server logged that a reader of the figures should know: slow consumers, errors. */
  warnings(): string[];
  /** Everything the server has written so far, every relay's on a backbone. */
  lines(): string[];
  /** Replaces the relays' addresses in `text` with their names ("relay A"), for printing. */
  name(text: string): string;
  /** The server's processes, to charge CPU to. */
  processes(): MeteredProcess[];
  /** Each relay's traffic counters now; none for NATS. */
  stats(): Promise<RelayStats[]>;
  stop(): Promise<void>;
}

export const INSTALL_NATS_HINT = "apt-get install -y nats-server";

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

export function isExecutable(path: string): boolean {
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
  if (system === "iris") return singleRelay(keys);
  if (system === "iris3") return startBackbone(keys);
  return startNats(natsBinary);
}

async function startNats(binary: string | null): Promise<Server> {
  if (!binary) throw new Error(`nats-server is not installed (${INSTALL_NATS_HINT})`);
  const nats = await startLogged(binary, ["-a", "127.0.0.1", "-p", "-1"], {
    ready: firstGroup(/Listening for client connections on (\S+)/),
    // The address is logged a line before the server accepts clients.
    after: /Server is ready/,
  });
  const endpoint: Endpoint = { system: "nats", server: nats.match };
  return {
    sender: endpoint,
    receiver: endpoint,
    routeReady: async () => null,
    // nats-server reports a slow consumer at [INF]: a reader of the figures should know of it too.
    warnings: () => nats.lines().filter((line) => /\[(WRN|ERR|FTL)\]|slow consumer/i.test(line)),
    lines: nats.lines,
    name: (text) => text.split(nats.match).join("the server"),
    processes: () => [{ name: "nats-server", pid: nats.pid }],
    stats: async () => [],
    stop: nats.stop,
  };
}

export const SYSTEM_NAMES: Record<System, string> = {
  iris: "iris-mesh, 1 relay",
  iris3: "iris-mesh, 3 relays",
  nats: "NATS",
};
