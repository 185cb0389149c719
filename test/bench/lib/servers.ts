// The servers under comparison, each started fresh on 127.0.0.1 for one scenario: an iris-mesh relay
// process (relay-server/cli.ts), or Debian's nats-server. Both pick a free port themselves and log it,
// so there is no race for a port chosen in advance.

import { accessSync, constants } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Endpoint, System } from "../protocol.ts";
import { nodeFlags, stop, track } from "./processes.ts";

export interface Server {
  readonly endpoint: Endpoint;
  /** What the server logged that a reader of the figures should know: slow consumers, errors. */
  warnings(): string[];
  stop(): Promise<void>;
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
    : [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/sbin", "/usr/local/sbin"].map((dir) => join(dir, "nats-server"));
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

export async function startServer(system: System, keys: Record<string, string>, natsBinary: string | null): Promise<Server> {
  if (system === "iris") {
    const relay = await startLogged(process.execPath, [...nodeFlags(), RELAY_CLI, "--port", "0", "--log", "quiet"], {
      ready: /relay-listening url=(\S+)/,
    });
    // With --log quiet the relay prints only what is out of the ordinary, besides starting and stopping.
    const routine = /^\S+ relay-(listening|stopping|stopped)\b/;
    return {
      endpoint: { system, relay: relay.match, keys },
      warnings: () => relay.lines().filter((line) => line !== "" && !routine.test(line)),
      stop: relay.stop,
    };
  }
  if (!natsBinary) throw new Error(`nats-server is not installed (${INSTALL_NATS_HINT})`);
  const nats = await startLogged(natsBinary, ["-a", "127.0.0.1", "-p", "-1"], {
    ready: /Listening for client connections on (\S+)/,
    // The address is logged a line before the server accepts clients.
    after: /Server is ready/,
  });
  return {
    endpoint: { system: "nats", server: nats.match },
    warnings: () => nats.lines().filter((line) => /\[(WRN|ERR|FTL)\]/.test(line)),
    stop: nats.stop,
  };
}

interface Logged {
  /** The first capture group of the `ready` pattern. */
  match: string;
  lines(): string[];
  stop(): Promise<void>;
}

/** Spawns a server and resolves once its output matches `ready` (and `after`, if given). */
async function startLogged(command: string, args: string[], patterns: { ready: RegExp; after?: RegExp }): Promise<Logged> {
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
  return { match, lines: () => log.split("\n"), stop: () => stop(child) };
}
