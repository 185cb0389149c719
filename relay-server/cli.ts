// iris-relay: start a relay from the command line (or check its configuration, or print the help).

import { ConfigError, loadConfig } from "./config.ts";
import type { Invocation } from "./config.ts";
import { relayLogger } from "./log.ts";
import { startRelayServer } from "./server.ts";
import type { RelayServer } from "./server.ts";
import { helpText } from "./settings-doc.ts";
import { collectSpentBuffers } from "./spent-buffers.ts";
import { loadTls } from "./tls.ts";

/** Exit codes: 2 for a configuration the relay refuses, 1 for a relay that failed while starting. */
const EXIT_CONFIG = 2;
const EXIT_FAILED = 1;

async function main(): Promise<void> {
  let invocation: Invocation;
  try {
    invocation = loadConfig({ argv: process.argv.slice(2), env: process.env });
    // The files the settings name are part of the configuration: the check reads them too (a relay
    // that starts reads them before it listens).
    if (invocation.command === "check") loadTls(invocation.config);
  } catch (error) {
    refuse(error);
  }
  if (invocation.command === "help") {
    process.stdout.write(helpText());
    return;
  }
  const { config, file } = invocation;
  if (invocation.command === "check") {
    process.stdout.write(`iris-relay: the configuration is valid${file ? ` (${file})` : ""}\n`);
    return;
  }
  const logger = relayLogger({
    level: config.logLevel,
    format: config.logFormat,
    terminal: process.stdout.isTTY === true,
    write: (line) => process.stdout.write(line + "\n"),
  });
  const { log } = logger;
  let server: RelayServer;
  try {
    server = await startRelayServer(config, logger);
  } catch (error) {
    if (error instanceof ConfigError) refuse(error);
    log("relay-failed", { error: (error as Error).message });
    logger.flush();
    process.exit(EXIT_FAILED);
  }
  collectSpentBuffers();
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal means: now.
    if (stopping) {
      logger.flush();
      process.exit(EXIT_FAILED);
    }
    stopping = true;
    log("relay-stopping", { signal });
    server.drain().then(() => {
      logger.flush();
      log("relay-stopped");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/** Prints every problem of a configuration the relay will not run with, and exits. */
function refuse(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) process.stderr.write(`iris-relay: ${problem}\n`);
  process.exit(EXIT_CONFIG);
}

main().catch((error: unknown) => {
  process.stderr.write(`iris-relay: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(EXIT_FAILED);
});
