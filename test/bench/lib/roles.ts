// The orchestrator's side of a role process (roles/*.ts): fork it, wait for it to announce itself, call
// its operations with a deadline each, and stop it.

import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RoleAnswer, RoleCall, RoleReady } from "../protocol.ts";
import { isRunning, nodeEnvironment, nodeFlags, track } from "./processes.ts";

export type RoleName =
  | "publisher"
  | "subscriber"
  | "responder"
  | "requester"
  | "stream-sender"
  | "stream-receiver"
  | "ws-forwarder"
  | "idle-peers";

export interface Role {
  readonly name: RoleName;
  readonly ready: RoleReady;
  call<T>(op: string, args?: unknown, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

// Starting a role is not measured; on a busy machine a dozen processes compiling at once take a while.
const START_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 2000;

type Pending = { resolve(value: unknown): void; reject(error: Error): void };

export async function startRole(name: RoleName): Promise<Role> {
  const script = fileURLToPath(new URL(`../roles/${name}.ts`, import.meta.url));
  const child = track(
    fork(script, [], {
      execArgv: nodeFlags(),
      env: nodeEnvironment(),
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    }),
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const pending = new Map<number, Pending>();
  let nextId = 1;
  child.on("message", (message: RoleAnswer | RoleReady) => {
    if (!("id" in message)) return;
    const call = pending.get(message.id);
    pending.delete(message.id);
    if ("error" in message) call?.reject(new Error(`${name}: ${message.error}`));
    else call?.resolve(message.result);
  });
  child.once("exit", (code, signal) => {
    for (const call of pending.values()) call.reject(new Error(`${name} process exited (${signal ?? code})`));
    pending.clear();
  });
  const ready = await waitForReady(name, child);

  const call = <T>(op: string, args?: unknown, timeoutMs = CALL_TIMEOUT_MS) =>
    new Promise<T>((resolve, reject) => {
      if (!isRunning(child) || !child.connected) return reject(new Error(`${name} process is not running`));
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${name}.${op} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle =
        <V>(then: (value: V) => void) =>
        (value: V) => {
          clearTimeout(timer);
          then(value);
        };
      pending.set(id, { resolve: settle((value) => resolve(value as T)), reject: settle(reject) });
      child.send({ id, op, args } satisfies RoleCall);
    });

  return {
    name,
    ready,
    call,
    async stop() {
      // Let the client say goodbye to its server, then close the IPC channel: the role exits on
      // "disconnect". A role that does neither in time is killed.
      await call("close", undefined, STOP_GRACE_MS).catch(() => {});
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => isRunning(child) && child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Starts several roles at once. If one fails to start, those that did are stopped before the error is
 * thrown, so a failed round leaves no process behind.
 */
export async function startRoles(names: RoleName[]): Promise<Role[]> {
  const settled = await Promise.allSettled(names.map(startRole));
  const started = settled.flatMap((one) => (one.status === "fulfilled" ? [one.value] : []));
  const failed = settled.find((one) => one.status === "rejected");
  if (failed) {
    await Promise.all(started.map((role) => role.stop()));
    throw failed.reason;
  }
  return started;
}

function waitForReady(name: RoleName, child: ChildProcess): Promise<RoleReady> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${name} exited (${code}) before it was ready`));
    };
    const onMessage = (message: RoleAnswer | RoleReady) => {
      if ("id" in message || message.event !== "ready") return;
      cleanup();
      resolve(message);
    };
    child.on("exit", onExit);
    child.on("message", onMessage);
  });
}
