// What every panel needs from the page, handed over once by main.ts.

import type { Connection, Tunnel } from "../../core/browser.ts";
import type { Activity } from "./activity.ts";
import type { ErrorContext } from "./describe-error.ts";
import type { Metrics } from "./metrics.ts";
import type { Names } from "./names.ts";

export interface AppContext {
  conn: Connection;
  /** Development mode: keys derived from names (no keys in the link). */
  development: boolean;
  names: Names;
  metrics: Metrics;
  activity: Activity;
  /** Redraws the topology soon, after this tab joined or left something. */
  refreshTopology(): void;
  /** The debug handle (window.irisDashboard), for the console and the end-to-end test. */
  debug: DashboardDebug;
}

/**
 * Read-only views for the browser console and tests: the connection, and the last tunnel this tab
 * opened, so a test can check that the route the page shows is the route the tunnel reports.
 */
export interface DashboardDebug {
  conn: Connection | null;
  lastTunnel: Tunnel | null;
}

declare global {
  interface Window {
    irisDashboard: DashboardDebug;
  }
}

export function errorContext(app: AppContext, kind: "cluster" | "topic", name: string): ErrorContext {
  return { kind, name, development: app.development };
}
