// What every panel needs from the page, handed over once by main.ts.

import type { Connection, Tunnel } from "../../core/browser.ts";
import type { Activity } from "./activity.ts";
import type { ConnectionState } from "./connection-state.ts";
import type { DiagnosisContext } from "./diagnosis.ts";
import type { Metrics } from "./metrics.ts";
import type { Names } from "./names.ts";
import type { PeerNames } from "./peer-names.ts";
import type { RequestSender } from "./request-sender.ts";
import type { Route } from "./topology/routes.ts";

export interface AppContext {
  conn: Connection;
  /** Development mode: names without a key in the link get keys derived from them. */
  development: boolean;
  names: Names;
  peers: PeerNames;
  metrics: Metrics;
  activity: Activity;
  connection: ConnectionState;
  sender: RequestSender;
  /** Draws a piece of a file on its way through `tunnel`, along the tunnel's route. */
  showTunnelPiece(tunnel: Tunnel): void;
  /** Redraws the topology soon, after this tab joined or left something. */
  refreshTopology(): void;
  /** What a diagnosis of an operation on `name`, just failed, should know. */
  diagnosisContext(kind: "cluster" | "topic", name: string): DiagnosisContext;
  /** The debug handle (window.irisDashboard), for the console and the end-to-end test. */
  debug: DashboardDebug;
}

/**
 * Read-only views for the browser console and tests: the connection, the last tunnel this tab opened
 * (a test checks that the route the page shows is the route the tunnel reports), and the last route
 * drawn on the topology.
 */
export interface DashboardDebug {
  conn: Connection | null;
  lastTunnel: Tunnel | null;
  lastRoute: Route | null;
}

declare global {
  interface Window {
    irisDashboard: DashboardDebug;
  }
}
