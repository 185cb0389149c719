// `npm start`: the main job on local defaults. A backbone of relays (ws://127.0.0.1:7600-7602), the
// demo's Node peers spread over them, and the dashboard (http://127.0.0.1:7680/), all in this process;
// a short tour shows every pattern once; Ctrl-C stops everything. Settings: stack-settings.ts.

import { startBackbone, linked } from "./demo-relays.ts";
import type { Backbone } from "./demo-relays.ts";
import { startDashboard } from "./dashboard-server.ts";
import type { DashboardServer } from "./dashboard-server.ts";
import { DEMO_SERVICES, startDemoPeers } from "./demo-peers.ts";
import type { DemoPeers } from "./demo-peers.ts";
import { STACK_HELP, SettingsError, stackSettings } from "./stack-settings.ts";
import { tour } from "./tour.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);

/** What is running, for an orderly stop whatever stage the start reached. */
const running: { backbone: Backbone | null; peers: DemoPeers | null; dashboard: Promise<DashboardServer> | null } = {
  backbone: null,
  peers: null,
  dashboard: null,
};
/** A Ctrl-C during the dashboard's build waits this long for it, to remove its temporary files. */
const BUILD_GRACE_MS = 10_000;

async function main(): Promise<void> {
  if (process.argv.includes("--help")) return void process.stdout.write(STACK_HELP);
  const settings = stackSettings(process.env);
  onSignals();

  // The dashboard builds while the relays and peers start; it needs only their addresses, known first.
  const backbone = await startBackbone(settings.host, settings.relayPorts, process.env, say);
  running.backbone = backbone;
  say(`building the dashboard...`);
  const dashboardStarting = startDashboard({
    host: settings.host,
    port: settings.dashboardPort,
    config: { relays: backbone.urls, candidates: settings.candidates },
  });
  running.dashboard = dashboardStarting;
  dashboardStarting.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
  if (!(await linked(backbone))) say("warning: the relays have not linked up yet; the first requests may wait");
  running.peers = await startDemoPeers(backbone.urls, (line) => say(`  [demo] ${line}`));
  const dashboard = await dashboardStarting;

  say("");
  say(`iris-mesh demo is up.`);
  say(`Relays: ${backbone.urls.join(" ")}`);
  say("Services (development keys, INSECURE, derived from the names):");
  say(`  cluster "${DEMO_SERVICES.echo}"  three members answering requests`);
  say(`  topic   "${DEMO_SERVICES.ticks}" a tick every second`);
  say(`  cluster "${DEMO_SERVICES.files}" a member hashing the files tunnels bring`);
  say("");
  if (settings.tour) {
    await tour(backbone.urls[backbone.urls.length - 1]!, say);
    say("");
  }
  say(`Dashboard: ${dashboard.url}`);
  say("Open it in a browser (two tabs show the most). Press Ctrl-C to stop.");
}

let stopping = false;

async function stop(code: number): Promise<never> {
  // A second Ctrl-C means: now.
  if (stopping) process.exit(1);
  stopping = true;
  say("stopping...");
  const steps: Array<Promise<unknown>> = [];
  const dashboard = running.dashboard;
  if (dashboard) {
    const built = Promise.race([
      dashboard,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), BUILD_GRACE_MS)),
    ]);
    // A dashboard that failed to start has nothing to close; main() already reported why.
    steps.push(
      built.then(
        (server) => server?.close(),
        () => {},
      ),
    );
  }
  // Peers leave before their relays close, so no relay sees them drop.
  steps.push((running.peers?.stop() ?? Promise.resolve()).then(() => running.backbone?.close()));
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
