// The dashboard: a browser peer that shows the mesh (topology, charts) and drives it (membership,
// requests, broadcasts, pub/sub, file tunnels). main.ts wires the parts; each lives in its own file.

import { Activity } from "./activity.ts";
import type { AppContext, DashboardDebug } from "./app-context.ts";
import { mountCharts } from "./charts.ts";
import { byId, showError, svgById } from "./dom.ts";
import { Metrics } from "./metrics.ts";
import { Names } from "./names.ts";
import { mountFilePanel } from "./panels/files.ts";
import { mountInbox } from "./panels/inbox.ts";
import { mountKeysPanel, renderModeBanner } from "./panels/keys.ts";
import { mountMemberPanel } from "./panels/member.ts";
import { mountPubSubPanel } from "./panels/pubsub.ts";
import { mountRequestPanel } from "./panels/requests.ts";
import { connectUntilAttached } from "./session.ts";
import { fragmentFor, keysFromFragment, loadSettings } from "./settings.ts";
import { TopologyPoller } from "./topology/poller.ts";
import { TopologyView } from "./topology/view.ts";
import "./style.css";

const debug: DashboardDebug = { conn: null, lastTunnel: null };
window.irisDashboard = debug;

// Keys live in the fragment, and a connection's keys are fixed: other keys in the link mean another page.
const loadedKeys = fragmentFor(keysFromFragment(window.location.hash));
window.addEventListener("hashchange", () => {
  if (fragmentFor(keysFromFragment(window.location.hash)) !== loadedKeys) window.location.reload();
});

// In-page links ("Skip to the panels", "Keys") scroll and move focus without touching the fragment,
// which holds the keys: following one must not drop them from the link.
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest<HTMLAnchorElement>('a[href^="#"]') : null;
  const target = link ? document.getElementById(link.getAttribute("href")!.slice(1)) : null;
  if (!target) return;
  event.preventDefault();
  target.scrollIntoView({ block: "start" });
  target.focus({ preventScroll: true });
});

async function main(): Promise<void> {
  const settings = await loadSettings();
  renderModeBanner(settings.development, settings.keys);
  const activity = new Activity(byId("activity"));
  const conn = await connectUntilAttached(settings, activity);
  debug.conn = conn;

  const names = new Names(conn);
  for (const name of Object.keys(settings.keys)) names.learn(name);
  const metrics = new Metrics();
  const view = new TopologyView(
    svgById("topology"),
    byId("topology-rows", HTMLTableSectionElement),
    byId("services"),
    names,
  );
  const topologyError = byId("topology-error");
  const poller = new TopologyPoller(conn, {
    update: (topology) => view.render(topology),
    trouble: (message) => showError(topologyError, message),
  });
  const app: AppContext = {
    conn,
    development: settings.development,
    names,
    metrics,
    activity,
    refreshTopology: () => poller.refresh(),
    debug,
  };

  const inbox = mountInbox(app);
  mountMemberPanel(app, inbox);
  mountRequestPanel(app);
  mountPubSubPanel(app);
  mountFilePanel(app);
  mountKeysPanel(app, settings.keys);
  mountCharts(metrics, byId("chart-rates"), byId("chart-latency"), byId("chart-summary"));
  setInterval(() => metrics.roll(), 1000);
  poller.start();
  document.body.dataset.ready = "true";
}

main().catch((error: unknown) => {
  // Only a bug gets here (connect failures wait for Retry); show it rather than a half-built page.
  const slot = byId("connection-error");
  showError(byId("connection-error-text"), `The dashboard failed to start: ${(error as Error).message}`);
  slot.hidden = false;
  throw error;
});
