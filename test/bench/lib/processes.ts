// Every process the benchmark starts is registered here, so none outlives it: not on success, not on an
// error, not on Ctrl-C.

import type { ChildProcess } from "node:child_process";
import { unitEnvironment } from "../../fixtures/relay-unit.ts";

const children = new Set<ChildProcess>();

/**
 * Node flags for the Node processes the benchmark starts (roles and relays). Setting
 * IRIS_BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each of them into <dir>, to see where time goes
 * (Node refuses --cpu-prof in NODE_OPTIONS, hence this switch).
 */
export function nodeFlags(): string[] {
  return ["--import", "tsx", ...profileFlags()];
}

/**
 * The environment of every Node process the benchmark starts, relays and both systems' clients alike:
 * the `Environment=` lines of the systemd unit operators deploy relays with (glibc's malloc settings,
 * which spare a process that reads 64 KiB WebSocket messages at full speed from faulting its heap in
 * again after every read; they leave NATS's clients as they were).
 */
export function nodeEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, ...unitEnvironment() };
}

/** Just the profiling flags, for processes that run built JavaScript (the relays, from dist/). */
export function profileFlags(): string[] {
  const profileDir = process.env.IRIS_BENCH_CPU_PROF;
  return profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
}

/** Whether CPU profiles are being written (IRIS_BENCH_CPU_PROF). */
export function profiling(): boolean {
  return Boolean(process.env.IRIS_BENCH_CPU_PROF);
}

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Asks a process to stop, and kills it if it has not exited within `graceMs`. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      if (isRunning(child)) child.kill("SIGKILL");
      resolve();
    }, graceMs);
  });
  await Promise.race([exited, overdue]);
  clearTimeout(timer);
}

/** Synchronous, for exit handlers: SIGKILL whatever is still running. */
export function killAll(): void {
  for (const child of children) if (isRunning(child)) child.kill("SIGKILL");
  children.clear();
}

/** Kills every child when this process ends, however it ends. */
export function killChildrenOnExit(): void {
  process.once("exit", killAll);
  // The shell's convention: 128 + the signal's number.
  const exitCodes = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
  for (const [signal, code] of Object.entries(exitCodes)) {
    process.once(signal, () => {
      killAll();
      process.exit(code);
    });
  }
}
