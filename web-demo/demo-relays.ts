// The demo's relays: a small backbone in this process, as `iris-relay` would run them one per process.
// The first relay starts alone; the others are seeded with it and link up through it, so the overlay
// forms exactly as it would across machines.

import { loadConfig } from "../relay-server/config.ts";
import { relayLogger } from "../relay-server/log.ts";
import { startRelayServer } from "../relay-server/server.ts";
import type { RelayServer } from "../relay-server/server.ts";

export interface Backbone {
  readonly relays: RelayServer[];
  readonly urls: string[];
  /** Closes every relay at once (no drain: the demo's peers are already gone). */
  close(): Promise<void>;
}

export async function startBackbone(
  host: string,
  ports: number[],
  env: Record<string, string | undefined>,
  say: (line: string) => void,
): Promise<Backbone> {
  const relays: RelayServer[] = [];
  try {
    for (const [i, port] of ports.entries()) {
      const seeds = relays[0] ? ["--seed", relays[0].url] : [];
      // Flags win over the environment, so IRIS_PORT (the stack's base port) cannot leak into a relay;
      // IRIS_SEEDS still reaches the first relay, which may so join an existing network.
      const argv = ["--host", host, "--port", String(port), ...seeds];
      const invocation = loadConfig({ argv, env: { IRIS_LOG_LEVEL: "info", ...env } });
      if (invocation.command === "help") throw new Error("unreachable: no --help given");
      const { config } = invocation;
      const logger = relayLogger({
        level: config.logLevel,
        format: "text",
        terminal: true,
        write: (line) => say(`  [relay ${i + 1}] ${line}`),
      });
      relays.push(await startRelayServer(config, logger));
    }
  } catch (error) {
    await Promise.all(relays.map((relay) => relay.close()));
    throw error;
  }
  return {
    relays,
    urls: relays.map((relay) => relay.url),
    close: async () => {
      await Promise.all(relays.map((relay) => relay.close()));
    },
  };
}

/**
 * Resolves once every relay links to at least one other, so the first requests do not meet a backbone
 * still forming. Relays report link changes only in logs, so this looks at their snapshots on each
 * maintenance round rather than on an event; it gives up (without failing) after `timeoutMs`.
 */
export async function linked(backbone: Backbone, timeoutMs = 5000): Promise<boolean> {
  if (backbone.relays.length < 2) return true;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (backbone.relays.every((server) => server.relay.snapshot().links.length > 0)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
