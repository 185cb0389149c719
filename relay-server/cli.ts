// iris-relay: start a relay from the command line.

import { ConfigError, HELP, parseConfig } from "./config.ts";
import type { RelayServerConfig } from "./config.ts";
import { lineLogger } from "./log.ts";
import { startRelayServer } from "./server.ts";
import type { RelayServer } from "./server.ts";

async function main(): Promise<void> {
  let config: RelayServerConfig | "help";
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`iris-relay: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (config === "help") {
    process.stdout.write(HELP);
    return;
  }
  const log = lineLogger((line) => process.stdout.write(line + "\n"), config.logLevel);
  let server: RelayServer;
  try {
    server = await startRelayServer(config, log);
  } catch (error) {
    log("relay-failed", { error: (error as Error).message });
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal means: now.
    if (stopping) process.exit(1);
    stopping = true;
    log("relay-stopping", { signal });
    server.drain().then(() => {
      log("relay-stopped");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`iris-relay: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
