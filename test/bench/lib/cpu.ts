// CPU time per process over a measured phase, read from /proc/<pid>/stat (user + system time of every
// thread of the process). On a machine shared with other work, wall-clock rates swing with whatever else
// runs; the CPU a process spent on the same messages is much steadier, so every scenario prints both.

import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** A process whose CPU a phase is charged with; `tree` counts its descendants too (a browser). */
export interface MeteredProcess {
  name: string;
  pid: number;
  tree?: boolean;
}

export interface CpuUsage {
  /** Microseconds of CPU per process over the phase, in the order they were given; NaN if unreadable. */
  perProcess: Array<{ name: string; micros: number }>;
  totalMicros: number;
  wallMs: number;
}

let ticksPerSecond: number | null = null;

/** The kernel's clock tick (USER_HZ), the unit of /proc times: 100 on every Linux we know of. */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface Stat {
  ppid: number;
  micros: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself: the fields
  // we want come after its last ")". There, index 0 is the state (field 3); utime and stime are fields
  // 14 and 15.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { ppid: Number(fields[1]), micros: ((utime + stime) * 1e6) / clockTicks() };
}

/** Whether this machine has /proc (Linux): without it every CPU figure is n/a, and says so. */
export function cpuMeteringAvailable(): boolean {
  return readStat(process.pid) !== null;
}

/** CPU of `root` and, for a tree, of each descendant alive now, by pid. */
function sample(process: MeteredProcess): Map<number, number> {
  const found = new Map<number, number>();
  const own = readStat(process.pid);
  if (own) found.set(process.pid, own.micros);
  if (!process.tree) return found;
  const parents = new Map<number, { ppid: number; micros: number }>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) parents.set(pid, stat);
  }
  // Descendants: walk up from every pid until the root or the top.
  for (const [pid, stat] of parents) {
    for (let up = stat.ppid, depth = 0; up > 1 && depth < 32; depth++) {
      if (up === process.pid) {
        found.set(pid, stat.micros);
        break;
      }
      up = parents.get(up)?.ppid ?? 0;
    }
  }
  return found;
}

/**
 * Starts charging CPU to `processes`; stop() says how much each used since. A process (or descendant)
 * born during the phase counts from zero; one that ended during it is lost, which is why phases begin
 * after every process has started and end before any is stopped.
 */
export function meterCpu(processes: MeteredProcess[]): { stop(): CpuUsage } {
  const started = performance.now();
  const before = processes.map(sample);
  return {
    stop() {
      const wallMs = performance.now() - started;
      const perProcess = processes.map((process, index) => {
        const after = sample(process);
        if (after.size === 0) return { name: process.name, micros: NaN };
        let micros = 0;
        for (const [pid, now] of after) micros += now - (before[index]!.get(pid) ?? 0);
        return { name: process.name, micros };
      });
      return { perProcess, totalMicros: perProcess.reduce((sum, one) => sum + one.micros, 0), wallMs };
    },
  };
}

/** CPU µs per unit of work (a message, a request) for each process and in total. */
export interface CpuPerUnit {
  perProcess: Array<{ name: string; micros: number }>;
  total: number;
}

export function perUnit(usage: CpuUsage, units: number): CpuPerUnit {
  const each = (micros: number) => (units > 0 ? micros / units : NaN);
  return {
    perProcess: usage.perProcess.map(({ name, micros }) => ({ name, micros: each(micros) })),
    total: each(usage.totalMicros),
  };
}
