// A server process whose output tells when it is ready and where it listens: spawned, its output kept
// (and drained, so a chatty server never blocks on a full pipe), stopped on request.

import { spawn } from "node:child_process";
import { stop, track } from "./processes.ts";

export interface Logged {
  /** What `ready` found in the output: the address the server listens on. */
  match: string;
  pid: number;
  lines(): string[];
  stop(): Promise<void>;
}

/** Generous: starting is not measured, and the machine may be busy with other work. */
const START_TIMEOUT_MS = 60_000;

/**
 * Spawns `command` and resolves once `ready` finds what it is looking for in the output (stdout and
 * stderr together) and `after`, if given, matches too.
 */
export async function startLogged(
  command: string,
  args: string[],
  patterns: { ready: (log: string) => string | null; after?: RegExp },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Logged> {
  const child = track(spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env }));
  let log = "";
  let started = false;
  const match = await new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop(child, "SIGKILL", 0);
      reject(new Error(`${command} ${why}; it printed:\n${log}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      log += chunk.toString("utf8");
      if (started) return;
      const found = patterns.ready(log);
      if (found === null || (patterns.after && !patterns.after.test(log))) return;
      started = true;
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve(found);
    };
    const onExit = (code: number | null) => fail(`exited (${code}) before it was ready`);
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
    child.once("error", (error) => fail(`could not start: ${error.message}`));
  });
  return { match, pid: child.pid!, lines: () => log.split("\n"), stop: () => stop(child) };
}

/** A `ready` test from a pattern: its first capture group. */
export function firstGroup(pattern: RegExp): (log: string) => string | null {
  return (log) => pattern.exec(log)?.[1] ?? null;
}
