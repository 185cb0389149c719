// The dashboard: a browser peer that shows the mesh (topology, relay health, traffic, charts) and
// drives it (the guide, relay controls, membership, requests, broadcasts, pub/sub, file tunnels, keys).
// main.ts wires the parts; each lives in its own file.

import { toHex } from "../../core/util/bytes.ts";
import { Activity } from "./activity.ts";
import type { AppContext, DashboardDebug } from "./app-context.ts";
import { Charts } from "./charts.ts";
import { ConnectionState } from "./connection-state.ts";
import { DirectLinker } from "./direct-linker.ts";
import { byId, showError, svgById } from "./dom.ts";
import { Guide } from "./guide.ts";
import { Metrics } from "./metrics.ts";
import { Names } from "./names.ts";
import { mountFilePanel } from "./panels/files.ts";
import { mountInbox } from "./panels/inbox.ts";
import { mountKeysPanel, renderModeBanner } from "./panels/keys.ts";
import type { KeyState } from "./panels/keys.ts";
import { mountMemberPanel } from "./panels/member.ts";
import { mountPubSubPanel } from "./panels/pubsub.ts";
import { mountRequestPanel } from "./panels/requests.ts";
import { PeerNames } from "./peer-names.ts";
import { ControlClient } from "./relays/control-client.ts";
import { mountHealing } from "./relays/healing.ts";
import { HealthView } from "./relays/health-view.ts";
import { OutageLog } from "./relays/outage-log.ts";
import { SteadyStream } from "./relays/steady-stream.ts";
import { RequestSender } from "./request-sender.ts";
import { connectUntilAttached, followConnection } from "./session.ts";
import { developmentFromFragment, fragmentFor, keysFromFragment, linkWith, loadSettings } from "./settings.ts";
import type { PageSettings } from "./settings.ts";
import { renderDetails } from "./topology/details.ts";
import type { PeerNode } from "./topology/model.ts";
import { TopologyPoller } from "./topology/poller.ts";
import type { Scene } from "./topology/poller.ts";
import { routeOf } from "./topology/routes.ts";
import { renderText } from "./topology/text-view.ts";
import { Traffic } from "./topology/traffic.ts";
import { TopologyView } from "./topology/view.ts";
import type { Selection } from "./topology/view.ts";
import { wireInPageLinks } from "./in-page-links.ts";
import "./style.css";
import "./components.css";
import "./topology.css";

const debug: DashboardDebug = { conn: null, lastTunnel: null, lastRoute: null };
window.irisDashboard = debug;
wireInPageLinks();

async function main(): Promise<void> {
  const settings = await loadSettings();
  const keyState: KeyState = { keys: settings.keys, development: settings.development };
  // Another link pasted into this tab means other keys: that is another page.
  window.addEventListener("hashchange", () => {
    const hash = window.location.hash;
    if (
      fragmentFor(keysFromFragment(hash), developmentFromFragment(hash)) !==
      fragmentFor(keyState.keys, keyState.development)
    ) {
      window.location.reload();
    }
  });
  renderModeBanner(keyState);
  const cluster = fieldsFollowMode(settings);
  const activity = new Activity(byId("activity"));
  const conn = await connectUntilAttached(settings, activity);
  debug.conn = conn;
  const relayName = (url: string) => {
    const index = settings.relays.indexOf(url);
    return index >= 0 ? `relay ${index + 1}` : url;
  };
  followConnection(conn, activity, relayName);

  const names = new Names(conn);
  for (const name of Object.keys(settings.keys)) names.learn(name);
  const peers = new PeerNames(conn.peerId);
  const metrics = new Metrics();
  const connection = new ConnectionState(conn);
  const sender = new RequestSender(conn, connection, metrics, { development: settings.development });
  const controls = settings.controls ? new ControlClient() : null;
  const details = byId("details");
  let scene: Scene | null = null;
  let selection: Selection = null;
  const showDetails = () => {
    if (scene)
      renderDetails(details, selection, scene.topology, {
        names,
        peers,
        rates: scene.rates,
        requestRoutes: conn.requestRoutes,
      });
  };
  const view = new TopologyView(
    svgById("topology"),
    (peer) => servicesLine(peer, names),
    (chosen) => {
      selection = chosen;
      showDetails();
    },
  );
  const traffic = new Traffic(view);
  const notice = byId("topology-notice");
  let trouble: string | null = null;
  const poller = new TopologyPoller(conn, settings.relays, controls, {
    update: (next) => onScene(next),
    trouble: (message) => (trouble = message),
  });

  const app: AppContext = {
    conn,
    development: settings.development,
    names,
    peers,
    metrics,
    activity,
    connection,
    sender,
    refreshTopology: () => poller.refresh(),
    showTunnelPiece: (tunnel) => {
      const route = scene ? routeFor(tunnel.name, tunnel.remotePeer, tunnel.route === "direct") : null;
      if (route) traffic.show(route, true);
    },
    diagnosisContext: (kind, name) => ({
      kind,
      name,
      development: settings.development,
      disconnected: !connection.snapshot.attached,
      lastDrop: connection.snapshot.lastDrop,
    }),
    debug,
  };

  const inbox = mountInbox(app);
  const members = mountMemberPanel(app, inbox);
  const requests = mountRequestPanel(app);
  mountPubSubPanel(app);
  mountFilePanel(app);
  const linker = new DirectLinker(conn, names, peers, activity, () => keyState.keys, settings.development);
  mountKeysPanel(app, keyState, () => {
    const newest = Object.values(keyState.keys).at(-1);
    if (newest) linker.addKey(newest).catch(() => {});
  });

  const log = new OutageLog();
  const stream = new SteadyStream(sender);
  const actions = mountHealing(
    { controls, log, stream, sender, activity, cluster: () => cluster, refresh: () => poller.refresh() },
    { stream: byId("stream-toggle", HTMLButtonElement), streamStatus: byId("stream-status"), outages: byId("outages") },
  );
  const health = new HealthView(byId("relay-list"), {
    ...actions,
    select: (relay) => view.select({ kind: "relay", key: relay.key }),
  });
  if (!controls) byId("healing-hint").append(" This page was not served by npm start, so it offers no relay controls.");
  const guide = new Guide(byId("guide"), {
    names,
    members,
    requests,
    sender,
    cluster,
    controls: controls !== null,
    link: () => linkWith(keyState.keys, keyState.development),
  });
  const charts = new Charts({
    relays: { chart: byId("chart-relays"), legend: byId("legend-relays") },
    clusters: { chart: byId("chart-clusters"), legend: byId("legend-clusters") },
    latency: { chart: byId("chart-latency"), legend: byId("legend-latency") },
  });
  metrics.onRoll((columns) => charts.rolled(columns));
  setInterval(() => metrics.roll(), 1000);

  /** The route from this tab to `member` of `cluster`, from the relays' latest reports. */
  function routeFor(cluster: string, member: string, direct: boolean) {
    if (!scene) return null;
    try {
      return routeOf(scene.topology, toHex(conn.keyring.get("cluster", cluster).id), conn.peerId, member, direct);
    } catch {
      return null; // no key for it: nothing was sent
    }
  }
  // Each answered request is drawn along the route it took.
  sender.onOutcome((outcome) => {
    if (!outcome.ok) return;
    const member = peers.idOf(outcome.responder);
    const route = member ? routeFor(outcome.cluster, member, outcome.route === "direct") : null;
    if (!route) return;
    debug.lastRoute = route;
    traffic.show(route);
  });
  conn.on("direct", ({ peerId, open }) => {
    activity.add("info", `Direct WebRTC link with ${peers.name(peerId)} ${open ? "open" : "closed"}.`);
    poller.refresh();
  });
  connection.onChange(() => poller.refresh());

  function onScene(next: Scene): void {
    scene = next;
    const topology = next.topology;
    peers.update(topology.peers);
    view.render(topology);
    renderText(topology, names, peers, byId("topology-rows"), byId("services"));
    health.render(next);
    log.observe(topology);
    guide.observe(topology, log.all.length > 0);
    linker.consider(topology);
    charts.relaysPolled(next);
    showDetails();
    const running = topology.relays.filter((relay) => relay.condition === "up").length;
    const message =
      topology.relays.length > 0 && running === 0
        ? "Every relay is down: nothing can route, and this tab waits to reconnect. Restart one from the relay list."
        : trouble;
    showError(notice, message);
    svgById("topology").classList.toggle("out-of-date", !next.current);
  }

  linker
    .start()
    .catch((error: unknown) => activity.add("warn", `Direct links between tabs are off: ${(error as Error).message}`));
  poller.start();
  document.body.dataset.ready = "true";
}

/** What a peer serves, named, for its label in the picture (the page's own plumbing left out). */
function servicesLine(peer: PeerNode, names: Names): string[] {
  const services = [
    ...peer.clusters.filter((id) => !names.hidden(id)).map((id) => names.label(id)),
    ...peer.topics.filter((id) => !names.hidden(id)).map((id) => `#${names.label(id)}`),
  ];
  return services.length > 0 ? [services.join(" · ")] : [];
}

/**
 * The forms' names follow the mode: the demo's services in development mode, this link's own names when
 * it carries private keys only (a pre-filled "echo" there could only fail with "no key"). Returns the
 * cluster the guide is about.
 */
function fieldsFollowMode(settings: PageSettings): string {
  const names = Object.keys(settings.keys);
  if (settings.development || names.length === 0) return "echo";
  const first = names[0]!;
  for (const id of ["request-cluster", "member-cluster", "file-cluster", "topic-name"])
    byId(id, HTMLInputElement).value = first;
  return first;
}

main().catch((error: unknown) => {
  // Only a bug gets here (connect failures wait for Retry); show it rather than a half-built page.
  const slot = byId("connection-error");
  showError(byId("connection-error-text"), `The dashboard failed to start: ${(error as Error).message}`);
  slot.hidden = false;
  throw error;
});
