// What the figures were measured on and with: printed with every run, because a benchmark figure
// without its machine and versions means little.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { relative } from "node:path";
import { nodeCrypto } from "../../../core/node.ts";
import { natsServerVersion } from "./servers.ts";

export function commandLine(): string {
  const direct = [
    "node",
    ...process.execArgv,
    relative(process.cwd(), process.argv[1] ?? ""),
    ...process.argv.slice(2),
  ].join(" ");
  const script = process.env.npm_lifecycle_event;
  return script ? `npm run ${script}  (${direct})` : direct;
}

export function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? "unknown CPU";
  const memory = `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
  return `${cpus.length} CPUs (${model}), ${memory}, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** The orchestrator loads the same core as the roles, so its default backend is theirs too. */
export function secretboxBackend(): string {
  return nodeCrypto.secretbox.name;
}

export function natsDescription(binary: string | null): string {
  if (!binary) return "not installed";
  let server: string;
  try {
    server = natsServerVersion(binary);
  } catch (error) {
    server = `nats-server (version unknown: ${(error as Error).message})`;
  }
  return `${server} at ${binary}, nats npm client ${natsClientVersion()}`;
}

function natsClientVersion(): string {
  try {
    const manifest = createRequire(import.meta.url).resolve("nats/package.json");
    return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
  } catch {
    return "(version unknown)";
  }
}

/** The 1-minute load average: other work on the machine skews every figure, so it is printed too. */
export function load(): { text: string; busy: boolean } {
  const [oneMinute = 0] = os.loadavg();
  const cpus = os.cpus().length;
  return { text: `1-min load average ${oneMinute.toFixed(2)} on ${cpus} CPUs`, busy: oneMinute > cpus / 2 };
}
