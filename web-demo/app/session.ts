// This tab's connection: dialing the relays (with a clear message and a Retry button when none
// answers), and keeping the status line true as the connection drops and comes back.

import { connect, onlyAddresses } from "../../core/browser.ts";
import type { Connection } from "../../core/browser.ts";
import type { Activity } from "./activity.ts";
import { describeConnectError } from "./describe-error.ts";
import { byId, showError, short } from "./dom.ts";
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
      follow(conn, activity);
      return conn;
    } catch (error) {
      const message = describeConnectError(error, settings.relays, settings.relaySource);
      status.textContent = "Not connected.";
      showError(failureText, message);
      failure.hidden = false;
      activity.add("error", message);
      retry.focus();
      await new Promise<void>((resolve) => retry.addEventListener("click", () => resolve(), { once: true }));
    }
  }
}

/** Keeps the status line and the activity log in step with the connection's events. */
function follow(conn: Connection, activity: Activity): void {
  const status = byId("status");
  const self = byId("self-peer");
  self.textContent = `tab ${short(conn.peerId)}`;
  self.dataset.peerId = conn.peerId;
  const attached = (relay: string) => {
    status.textContent = `Connected to ${relay}`;
    status.dataset.state = "connected";
  };
  attached(conn.relay ?? "a relay");
  activity.add("ok", `Connected to ${conn.relay ?? "a relay"} as peer ${short(conn.peerId)}.`);
  conn.on("attach", ({ relay }) => attached(relay));
  conn.on("drop", ({ relay, reason }) => {
    status.textContent = `Lost ${relay} (${reason}); reconnecting…`;
    status.dataset.state = "reconnecting";
    activity.add(
      "warn",
      `Lost the relay ${relay}: ${reason}. Reconnecting; memberships and subscriptions will be restored.`,
    );
  });
  conn.on("reconnect", ({ relay }) => activity.add("ok", `Back on ${relay}; memberships and subscriptions restored.`));
  conn.on("error", ({ error, context }) => activity.add("warn", `${context}: ${error.message}`));
  conn.on("direct", ({ peerId, open }) => {
    activity.add("info", `Direct WebRTC link with ${short(peerId)} ${open ? "open" : "closed"}.`);
  });
}
