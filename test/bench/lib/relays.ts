// iris-mesh relay processes for the benchmark, and what they report about themselves on GET /status of
// their admin listener: links and trees (to know when a backbone is ready) and traffic counters.
//
// Relays run as operators run them: the `iris-relay` command from the build (dist/relay-server/bin.js;
// `npm run bench` builds first), with the environment deploy/iris-relay.service gives it
// (nodeEnvironment). Under tsx, every closure the relay makes also gets its name set by esbuild's
// keepNames helper, which costs CPU on the hot path and about 2 KiB of heap per attached peer.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RelaySnapshot } from "../../../core/node.ts";
import type { Endpoint } from "../protocol.ts";
import { startLogged } from "./logged.ts";
import type { Logged } from "./logged.ts";
import { nodeEnvironment, profileFlags } from "./processes.ts";
import { isRoutineRelayLine, listeningUrl, parseRelayLine } from "./relay-log.ts";
import type { RelayStats, Server } from "./servers.ts";

const RELAY_BIN = fileURLToPath(new URL("../../../dist/relay-server/bin.js", import.meta.url));

/**
 * One relay process on a free port. A fresh relay waits up to --startup-grace for members before it
 * answers "no members"; that is for restarts, not for a benchmark, so it is off.
 */
export function startRelay(seeds: string[], extraArgs: string[] = []): Promise<Logged> {
  // The status report is on the admin listener, whose address the relay logs before relay-listening.
  if (!existsSync(RELAY_BIN)) throw new Error(`${RELAY_BIN} is missing: run npm run build (npm run bench does)`);
  const args = [...profileFlags(), RELAY_BIN, "--port", "0", "--admin-port", "0", "--log-level", "info"];
  args.push("--startup-grace", "0", ...extraArgs);
  for (const seed of seeds) args.push("--seed", seed);
  return startLogged(process.execPath, args, { ready: listeningUrl }, nodeEnvironment());
}

export function statusUrl(relay: Logged): string {
  for (const line of relay.lines()) {
    const parsed = parseRelayLine(line);
    if (parsed?.event === "admin-listening" && typeof parsed.fields.url === "string")
      return `${parsed.fields.url}/status`;
  }
  throw new Error(`relay ${relay.match} logged no admin-listening line`);
}

export async function fetchStatus(url: string): Promise<RelaySnapshot | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    // 503 while the relay is still starting.
    return response.ok ? ((await response.json()) as RelaySnapshot) : null;
  } catch {
    return null;
  }
}

/** Each relay's counters, by the name the bench gives it. */
export async function relayStats(relays: Array<{ name: string; relay: Logged }>): Promise<RelayStats[]> {
  return Promise.all(
    relays.map(async ({ name, relay }) => ({ name, stats: (await fetchStatus(statusUrl(relay)))?.stats ?? null })),
  );
}

/** One relay that both roles attach to. */
export async function singleRelay(keys: Record<string, string>): Promise<Server> {
  const relay = await startRelay([]);
  const endpoint: Endpoint = { system: "iris", relay: relay.match, keys };
  return {
    sender: endpoint,
    receiver: endpoint,
    routeReady: async () => null,
    warnings: () => relay.lines().filter((line) => !isRoutineRelayLine(line, false)),
    lines: relay.lines,
    name: (text) => text.split(relay.match).join("the relay"),
    processes: () => [{ name: "relay", pid: relay.pid }],
    stats: () => relayStats([{ name: "relay", relay }]),
    stop: relay.stop,
  };
}
