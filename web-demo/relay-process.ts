// One relay of `npm start`, run as its own process: the relay CLI (relay-server/cli.ts) through tsx, as
// an operator would run `npx iris-relay`. Being a process of its own is what lets the dashboard stop it
// (SIGKILL: a crash; SIGTERM: a drain) and start it again, so people can watch the mesh heal.
//
// Readiness is read from the relay's "relay-listening" log line, in either of the formats a relay may
// print (`relay-listening url=ws://...` text, or a JSON line with "msg":"relay-listening" and "url");
// should a relay print neither (another log format, or no logs), a port known in advance is dialed
// instead, after a pause that lets a relay that cannot bind it (someone else holds it) fail first.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { connect as tcpConnect } from "node:net";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../relay-server/cli.ts", import.meta.url));
const GUARD = fileURLToPath(new URL("./exit-with-parent.ts", import.meta.url));
/** How long a relay may take to listen before its start counts as failed. */
const START_TIMEOUT_MS = 20_000;
/** A drain asks peers to move and waits for them (the relay's --drain-timeout, 10 s); then we insist. */
const DRAIN_LIMIT_MS = 15_000;
const PROBE_EVERY_MS = 100;
const PROBE_AFTER_MS = 3000;
/** Lines of output kept per relay, for error messages and the dashboard's details. */
const KEPT_LINES = 40;

/** The stack's own variables: a relay must not read IRIS_PORT (the stack's base port) as its own. */
const STACK_VARIABLES = [
  "IRIS_PORT",
  "IRIS_RELAYS",
  "IRIS_DASHBOARD_PORT",
  "IRIS_DASHBOARD_CANDIDATES",
  "IRIS_TOUR",
  "IRIS_CONTROLS",
  "IRIS_LOG_LEVEL",
];

export type RelayState = "starting" | "up" | "stopping" | "draining" | "down";
export type StopMode = "kill" | "drain";

export interface RelayStatus {
  /** 1-based, as people count: "relay 1". */
  index: number;
  name: string;
  /** ws://host:port once known (the port stays the same across restarts). */
  url: string | null;
  state: RelayState;
  pid: number | null;
  /** The relay's id (hex) from its log, when it printed one. */
  relayId: string | null;
  /** When the current state began (ms since the epoch). */
  since: number;
  /** How the last run ended: "killed (SIGKILL)", "drained (SIGTERM)", "exited with code 1"... */
  lastExit: string | null;
  /** Runs so far, the current one included. */
  starts: number;
}

export interface RelayProcessOptions {
  index: number;
  host: string;
  /** 0 picks a free port on the first start; restarts reuse the port it got. */
  port: number;
  /** Log level passed to the relay (--log-level); at least info, for its "relay-listening" line. */
  logLevel: "info" | "debug";
  env: Record<string, string | undefined>;
  /** Each line the relay prints (stdout and stderr), as it comes. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Every change of state. */
  onChange?: (status: RelayStatus) => void;
}

export class RelayProcess {
  private child: ChildProcess | null = null;
  private port: number;
  private url: string | null = null;
  private relayId: string | null = null;
  private state: RelayState = "down";
  private since = Date.now();
  private lastExit: string | null = null;
  private starts = 0;
  private lines: string[] = [];
  private exited: Promise<void> = Promise.resolve();
  /** Set by stop() so the exit reads as what was asked, not as a crash. */
  private stopRequested: StopMode | null = null;

  constructor(private readonly options: RelayProcessOptions) {
    this.port = options.port;
  }

  get name(): string {
    return `relay ${this.options.index}`;
  }

  status(): RelayStatus {
    return {
      index: this.options.index,
      name: this.name,
      url: this.url,
      state: this.state,
      pid: this.child?.pid ?? null,
      relayId: this.relayId,
      since: this.since,
      lastExit: this.lastExit,
      starts: this.starts,
    };
  }

  /** What the relay printed lately (for error messages). */
  recentOutput(): string {
    return this.lines.join("\n");
  }

  /**
   * Starts the relay seeded with `seeds` (the other relays that are up) and resolves once it listens.
   * Rejects, with the relay's own words, if it exits or stays silent first.
   */
  async start(seeds: string[]): Promise<void> {
    if (this.state !== "down") throw new Error(`${this.name} is ${this.state}`);
    this.starts++;
    this.lines = [];
    this.relayId = null;
    this.stopRequested = null;
    this.setState("starting");
    const args = ["--import", "tsx", "--import", GUARD, CLI, "--host", this.options.host, "--port", String(this.port)];
    for (const seed of seeds) args.push("--seed", seed);
    // Text, not JSON: the stack shows these lines to people as they are (listeningLine reads both).
    args.push("--log-level", this.options.logLevel, "--log-format", "text");
    const child = spawn(process.execPath, args, {
      env: relayEnvironment(this.options.env, this.options.index),
      // stdin is a pipe only so the relay notices when this process dies (exit-with-parent.ts).
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group: a terminal's Ctrl-C reaches the stack alone, which stops relays in order.
      detached: true,
    });
    this.child = child;
    let onListening: (url: string) => void = () => {};
    const listening = new Promise<string>((resolve) => (onListening = resolve));
    this.readLines(child, (line) => {
      const seen = listeningLine(line);
      if (!seen) return;
      if (seen.relayId) this.relayId = seen.relayId;
      onListening(seen.url);
    });
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        if (this.child === child) this.child = null;
        this.lastExit = describeExit(code, signal, this.stopRequested);
        this.setState("down");
        resolve();
      });
    });
    const exitedEarly = this.exited.then(() => {
      throw new Error(`${this.name} ${this.lastExit} before it listened:\n${this.recentOutput()}`);
    });
    const probed = this.port === 0 ? new Promise<string>(() => {}) : probe(this.options.host, this.port, child);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.name} did not listen within ${START_TIMEOUT_MS} ms:\n${this.recentOutput()}`)),
        START_TIMEOUT_MS,
      );
    });
    try {
      const url = await Promise.race([listening, probed, exitedEarly, timedOut]);
      this.url = url;
      this.port = Number(new URL(url).port) || this.port;
      this.setState("up");
    } catch (error) {
      child.kill("SIGKILL");
      await this.exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL (the relay vanishes, as in a crash) or SIGTERM (it drains: peers are asked to move). */
  async stop(mode: StopMode): Promise<void> {
    const child = this.child;
    if (!child || this.state === "down") return;
    this.stopRequested = mode;
    if (mode === "kill") {
      this.setState("stopping");
      child.kill("SIGKILL");
    } else {
      this.setState("draining");
      child.kill("SIGTERM");
      const insist = setTimeout(() => child.kill("SIGKILL"), DRAIN_LIMIT_MS);
      this.exited.finally(() => clearTimeout(insist));
    }
    await this.exited;
  }

  private setState(state: RelayState): void {
    this.state = state;
    this.since = Date.now();
    this.options.onChange?.(this.status());
  }

  private readLines(child: ChildProcess, watch: (line: string) => void): void {
    for (const [stream, name] of [
      [child.stdout!, "stdout"],
      [child.stderr!, "stderr"],
    ] as const) {
      let partial = "";
      stream.setEncoding("utf8").on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        for (const line of parts) {
          if (line.trim() === "") continue;
          this.lines.push(line);
          if (this.lines.length > KEPT_LINES) this.lines.shift();
          watch(line);
          this.options.onLine?.(line, name);
        }
      });
    }
    // The guard reads stdin; nothing is ever written, and a relay that is gone cannot take anything.
    child.stdin?.on("error", () => {});
  }
}

/** The level of a relay's text log line ("<time> WARN  event ..."); null for anything else it printed. */
export function logLineLevel(line: string): string | null {
  const level = /^\S+ (DEBUG|INFO|WARN|ERROR|FATAL)\b/.exec(line)?.[1];
  return level ? level.toLowerCase() : null;
}

/** The address and id in a relay's "listening" line, text or JSON; null for any other line. */
export function listeningLine(line: string): { url: string; relayId: string | null } | null {
  if (!line.includes("relay-listening")) return null;
  const url = /\burl["']?\s*[=:]\s*"?(wss?:\/\/[^\s"',}]+)/.exec(line)?.[1];
  if (!url) return null;
  const relayId = /\brelay["']?\s*[=:]\s*"?([0-9a-f]{16,})/.exec(line)?.[1] ?? null;
  return { url, relayId };
}

function describeExit(code: number | null, signal: NodeJS.Signals | null, asked: StopMode | null): string {
  if (asked === "kill" && signal === "SIGKILL") return "killed (SIGKILL)";
  if (asked === "drain" && code === 0) return "drained (SIGTERM)";
  if (asked === "drain" && signal === "SIGKILL") return "killed after a drain that took too long";
  if (signal) return `ended by ${signal}`;
  return `exited with code ${code}`;
}

function relayEnvironment(env: Record<string, string | undefined>, index: number): Record<string, string | undefined> {
  const copy = { ...env };
  for (const name of STACK_VARIABLES) delete copy[name];
  // IRIS_SEEDS may join the stack to an existing network, through its first relay only.
  if (index !== 1) delete copy.IRIS_SEEDS;
  return copy;
}

/** Resolves with the relay's URL once something accepts a TCP connection on its port. */
function probe(host: string, port: number, child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const socket = tcpConnect({ host, port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(`ws://${host.includes(":") ? `[${host}]` : host}:${port}`);
      });
      socket.once("error", () => {
        socket.destroy();
        setTimeout(attempt, PROBE_EVERY_MS);
      });
    };
    setTimeout(attempt, PROBE_AFTER_MS).unref();
  });
}
