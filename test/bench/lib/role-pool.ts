// Role processes kept for the rounds of one scenario. Starting a Node process with tsx and loading
// iris-mesh costs about a second of CPU, far more on a busy machine, so a scenario whose rounds need nine
// processes would spend most of its time starting them. A role handed back is disconnected from its
// server (its state goes with the connection) and waits for the next round, of whichever system; the
// servers themselves are fresh every round.
//
// With IRIS_BENCH_CPU_PROF set, nothing is kept: every round starts fresh processes, so that each CPU
// profile covers one round of one system.

import { profiling } from "./processes.ts";
import { startRoles } from "./roles.ts";
import type { Role, RoleName } from "./roles.ts";

export interface RolePool {
  /** Idle roles of these names, started as needed; in the order asked for. */
  take(names: RoleName[]): Promise<Role[]>;
  /** Disconnects the roles and keeps them for the next round (or stops them, when profiling). */
  giveBack(roles: Role[]): Promise<void>;
  /** Stops every role kept. */
  close(): Promise<void>;
}

const RELEASE_TIMEOUT_MS = 5000;

export function rolePool(): RolePool {
  const idle: Role[] = [];
  const keep = !profiling();
  return {
    async take(names) {
      const taken: Array<Role | null> = names.map((name) => {
        const index = idle.findIndex((role) => role.name === name);
        return index < 0 ? null : idle.splice(index, 1)[0]!;
      });
      const missing = names.filter((_, index) => taken[index] === null);
      let started: Role[];
      try {
        started = await startRoles(missing);
      } catch (error) {
        idle.push(...taken.filter((role) => role !== null));
        throw error;
      }
      return taken.map((role) => role ?? started.shift()!);
    },
    async giveBack(roles) {
      await Promise.all(
        roles.map(async (role) => {
          if (!keep) return role.stop();
          try {
            await role.call("close", undefined, RELEASE_TIMEOUT_MS);
            idle.push(role);
          } catch {
            // A role that cannot say goodbye in time is not trusted with another round.
            await role.stop();
          }
        }),
      );
    },
    async close() {
      await Promise.all(idle.splice(0).map((role) => role.stop()));
    },
  };
}
