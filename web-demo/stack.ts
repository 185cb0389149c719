// `npm start`: the main job on local defaults. A backbone of relays, each its own process
// (ws://127.0.0.1:7600-7602), the demo's Node peers spread over them, and the dashboard
// (http://127.0.0.1:7680/), which in this development stack can stop and restart the relays. A short
// tour shows every pattern once; Ctrl-C or SIGTERM stops everything. Settings: stack-settings.ts.

import { connect } from "../core/node.ts";
import { buildDashboard } from "./dashboard-build.ts";
import type { DashboardFiles } from "./dashboard-build.ts";
import { startDashboard } from "./dashboard-server.ts";
import type { DashboardServer } from "./dashboard-server.ts";
import { DEMO_SERVICES, startDemoPeers } from "./demo-peers.ts";
import type { DemoPeers } from "./demo-peers.ts";
import { RelayFleet } from "./relay-fleet.ts";
import { logLineLevel } from "./relay-process.ts";
import type { RelayStatus } from "./relay-process.ts";
import { STACK_HELP, SettingsError, shown, stackSettings } from "./stack-settings.ts";
import type { StackSettings } from "./stack-settings.ts";
import { tour } from "./tour.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);

/** What is running, for an orderly stop whatever stage the start reached. */
const running: { fleet: RelayFleet | null; peers: DemoPeers | null; dashboard: DashboardServer | null } = {
  fleet: null,
  peers: null,
  dashboard: null,
};
let up = false;

async function main(): Promise<void> {
  if (process.argv.includes("--help")) return void process.stdout.write(STACK_HELP);
  const settings = stackSettings(process.env);
  onSignals();

  // The dashboard builds (in memory) while the relays start; it needs only their addresses.
  say("starting the relays and building the dashboard...");
  const building = buildDashboard();
  building.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
  const fleet = startFleet(settings);
  running.fleet = fleet;
  await fleet.start();
  if (!(await backboneLinked(fleet.urls)))
    say("warning: the relays have not linked up yet; the first requests may wait");
  running.peers = await startDemoPeers(fleet.urls, (line) => say(`  [demo] ${line}`));
  running.dashboard = await serveDashboard(settings, fleet, await building);
  up = true;

  say("");
  say(`iris-mesh demo is up.`);
  say(`Relays: ${fleet.urls.join(" ")}`);
  say(
    `  (one process each: pids ${fleet
      .statuses()
      .map((status) => status.pid)
      .join(", ")})`,
  );
  say("Services (development keys, INSECURE, derived from the names):");
  say(`  cluster "${DEMO_SERVICES.echo}"  three members answering requests`);
  say(`  topic   "${DEMO_SERVICES.ticks}" a tick every second`);
  say(`  cluster "${DEMO_SERVICES.files}" a member hashing the files tunnels bring`);
  say("");
  if (settings.tour) {
    await tour(fleet.urls[fleet.urls.length - 1]!, say);
    say("");
  }
  say(`Dashboard: ${running.dashboard.url}`);
  say(
    settings.controls
      ? "Open it in a browser (two tabs show the most); its relay list can stop and restart each relay. Press Ctrl-C to stop."
      : "Open it in a browser (two tabs show the most). Press Ctrl-C to stop.",
  );
}

function startFleet(settings: StackSettings): RelayFleet {
  return new RelayFleet({
    host: settings.host,
    ports: settings.relayPorts,
    logLevel: settings.relayLogs === "debug" ? "debug" : "info",
    env: process.env,
    onLine: (index, line, stream) => {
      // Lines that are not log records (a crash's stack trace) always show.
      const level = logLineLevel(line);
      if (stream === "stderr" || level === null || shown(level, settings.relayLogs)) say(`  [relay ${index}] ${line}`);
    },
    onChange: (status) => {
      if (up && !stopping) say(describeChange(status));
    },
  });
}

function describeChange(status: RelayStatus): string {
  switch (status.state) {
    case "down":
      return `${status.name} is down: ${status.lastExit ?? "stopped"}`;
    case "up":
      return `${status.name} is up again at ${status.url} (pid ${status.pid})`;
    case "draining":
      return `${status.name} is draining (SIGTERM): its peers are moving to the other relays`;
    case "stopping":
      return `${status.name}: sending SIGKILL`;
    case "starting":
      return `${status.name} is starting again`;
  }
}

async function serveDashboard(
  settings: StackSettings,
  fleet: RelayFleet,
  files: DashboardFiles,
): Promise<DashboardServer> {
  return startDashboard({
    host: settings.host,
    port: settings.dashboardPort,
    config: { relays: fleet.urls, candidates: settings.candidates },
    files,
    control: settings.controls
      ? {
          statuses: () => fleet.statuses(),
          stop: (index, mode) => fleet.stopOne(index, mode),
          restart: (index) => fleet.restart(index),
        }
      : null,
  });
}

/**
 * Resolves true once every relay links to the first one (they were all seeded with it), so the first
 * requests do not meet a backbone still forming; false (without failing) after `timeoutMs`.
 */
async function backboneLinked(urls: string[], timeoutMs = 5000): Promise<boolean> {
  if (urls.length < 2) return true;
  const probe = await connect({
    relays: [urls[0]!],
    development: true,
    agent: "node stack",
    connectTimeout: timeoutMs,
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const report = await probe.inspect(undefined, { timeout: 1000 }).catch(() => null);
      if (report && report.links.length >= urls.length - 1) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  } finally {
    await probe.close();
  }
}

let stopping = false;

async function stop(code: number): Promise<never> {
  // A second Ctrl-C means: now (the relays still go: they are in their own process groups).
  if (stopping) {
    for (const status of running.fleet?.statuses() ?? []) if (status.pid) process.kill(status.pid, "SIGKILL");
    process.exit(1);
  }
  stopping = true;
  say("stopping...");
  const steps: Array<Promise<unknown>> = [running.dashboard?.close() ?? Promise.resolve()];
  // Peers leave before their relays go, so no relay sees them drop; then the relays, all at once.
  steps.push((running.peers?.stop() ?? Promise.resolve()).then(() => running.fleet?.stop()));
  const results = await Promise.allSettled(steps);
  for (const result of results) {
    if (result.status === "rejected") process.stderr.write(`while stopping: ${(result.reason as Error).message}\n`);
  }
  say("stopped.");
  process.exit(code);
}

function onSignals(): void {
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  process.on("SIGHUP", () => void stop(0));
}

main().catch(async (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof SettingsError) process.stderr.write(`npm start: ${message}\n\n${STACK_HELP}`);
  else if (/already in use|EADDRINUSE/.test(message)) {
    process.stderr.write(
      `demo failed: ${message}. Another demo may be running; IRIS_PORT=0 npm start picks free ports.\n`,
    );
  } else process.stderr.write(`demo failed: ${(error as Error).stack ?? message}\n`);
  await stop(1);
});
