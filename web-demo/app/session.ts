// This tab's connection: dialing the relays (with a clear message and a Retry button when none
// answers), and keeping the status line true as the connection drops and comes back.

import { connect, onlyAddresses } from "../../core/browser.ts";
import type { Connection } from "../../core/browser.ts";
import type { Activity } from "./activity.ts";
import { describeConnectError } from "./diagnosis.ts";
import { byId, showError } from "./dom.ts";
import type { PageSettings } from "./settings.ts";

/** How long one attempt to reach a relay may take before the page says it is unreachable. */
const CONNECT_TIMEOUT_MS = 4000;

/** Connects, and on failure shows why and waits for the person to retry. Resolves once attached. */
export async function connectUntilAttached(settings: PageSettings, activity: Activity): Promise<Connection> {
  const status = byId("status");
  const failure = byId("connection-error");
  const failureText = byId("connection-error-text");
  const retry = byId("retry", HTMLButtonElement);
  for (;;) {
    status.textContent = `Connecting to ${settings.relays.join(", ")}…`;
    status.dataset.state = "connecting";
    try {
      const conn = await connect({
        relays: settings.relays,
        keys: settings.keys,
        development: settings.development,
        agent: "dashboard tab",
        connectTimeout: CONNECT_TIMEOUT_MS,
        webrtc: settings.direct
          ? settings.candidates
            ? { candidateFilter: onlyAddresses(settings.candidates) }
            : {}
          : false,
      });
      failure.hidden = true;
      return conn;
    } catch (error) {
      const message = describeConnectError(error, settings.relays, settings.relaySource);
      status.textContent = "Not connected.";
      status.dataset.state = "disconnected";
      showError(failureText, message);
      failure.hidden = false;
      activity.add("error", message);
      retry.focus();
      await new Promise<void>((resolve) => retry.addEventListener("click", () => resolve(), { once: true }));
    }
  }
}

/** Keeps the status line and the activity log in step with the connection's events. */
export function followConnection(conn: Connection, activity: Activity, relayName: (url: string) => string): void {
  const status = byId("status");
  const self = byId("self-peer");
  self.textContent = `tab ${conn.peerId.slice(0, 6)}`;
  self.dataset.peerId = conn.peerId;
  const named = (url: string) => {
    const name = relayName(url);
    return name === url ? url : `${name} (${url})`;
  };
  const attached = (relay: string) => {
    status.textContent = `Connected to ${named(relay)}`;
    status.dataset.state = "connected";
    status.dataset.relay = relay;
  };
  attached(conn.relay ?? "a relay");
  activity.add("ok", `Connected to ${named(conn.relay ?? "a relay")} as tab ${conn.peerId.slice(0, 6)}.`);
  conn.on("attach", ({ relay }) => attached(relay));
  conn.on("drop", ({ relay, reason }) => {
    status.textContent = `Lost ${named(relay)}; reconnecting…`;
    status.dataset.state = "reconnecting";
    activity.add(
      "warn",
      `Lost ${named(relay)}: ${reason}. Reconnecting; memberships and subscriptions will be restored.`,
    );
  });
  conn.on("reconnect", ({ relay }) =>
    activity.add("ok", `Back on ${named(relay)}; memberships and subscriptions restored.`),
  );
  conn.on("error", ({ error, context }) => activity.add("warn", `${context}: ${error.message}`));
}
