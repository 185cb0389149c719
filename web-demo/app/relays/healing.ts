// The healing demo: stop a relay from the page, and watch requests keep succeeding. Wires the relay
// controls (kill, drain, restart) to the outage tally and the steady stream of requests, and shows
// both: "relay 2 (killed from this page), back after 9.3 s: 312 requests during the outage, 0 failed".

import { clock, el, formatDuration } from "../dom.ts";
import type { RequestSender } from "../request-sender.ts";
import type { RelayNode } from "../topology/model.ts";
import type { Activity } from "../activity.ts";
import type { ControlClient, StopMode } from "./control-client.ts";
import type { HealthActions } from "./health-view.ts";
import type { Outage, OutageLog } from "./outage-log.ts";
import { STREAM_RATE } from "./steady-stream.ts";
import type { SteadyStream } from "./steady-stream.ts";

/** An automatic stream keeps going this long after the outage, to show requests flowing again. */
const AFTER_OUTAGE_MS = 8000;

export interface HealingParts {
  controls: ControlClient | null;
  log: OutageLog;
  stream: SteadyStream;
  sender: RequestSender;
  activity: Activity;
  /** The cluster the stream sends to ("echo" in development mode). */
  cluster: () => string;
  /** The poller, to look again now rather than in a second. */
  refresh: () => void;
}

export function mountHealing(
  parts: HealingParts,
  boxes: { stream: HTMLButtonElement; streamStatus: HTMLElement; outages: HTMLElement },
): Omit<HealthActions, "select"> {
  const { controls, log, stream, sender, activity } = parts;
  sender.onSent((_, sentAt) => log.sent(sentAt));
  sender.onOutcome((outcome) => log.settled(outcome));

  const renderStream = () => {
    boxes.stream.textContent = stream.running
      ? "Stop the requests"
      : `Send ${STREAM_RATE} requests a second to "${parts.cluster()}"`;
    boxes.stream.setAttribute("aria-pressed", String(stream.running));
    boxes.streamStatus.textContent = stream.running
      ? `${stream.automatic ? "Started for the outage: " : ""}${stream.sent} sent to "${stream.target}", ${stream.answered} answered, ${stream.failed} failed.`
      : stream.sent > 0
        ? `Stopped: ${stream.sent} sent, ${stream.answered} answered, ${stream.failed} failed.`
        : "";
    boxes.streamStatus.dataset.failed = String(stream.failed);
  };
  stream.onChange(renderStream);
  renderStream();
  boxes.stream.addEventListener("click", () => {
    if (stream.running) stream.stop();
    else stream.start(parts.cluster(), false);
  });

  let wasActive = false;
  const renderOutages = () => {
    const active = log.current !== null;
    if (wasActive && !active && stream.running && stream.automatic) stream.stopAfter(AFTER_OUTAGE_MS);
    wasActive = active;
    const items = log.all.map((outage) => outageItem(outage));
    boxes.outages.replaceChildren(
      ...(items.length > 0
        ? items
        : [
            el(
              "li",
              { class: "hint" },
              "No outage yet. Stop a relay above and watch this tab's requests keep succeeding.",
            ),
          ]),
    );
  };
  log.onChange(renderOutages);
  renderOutages();
  // Durations grow while an outage lasts.
  setInterval(() => {
    if (log.current) renderOutages();
  }, 1000);

  const stop = async (relay: RelayNode, mode: StopMode) => {
    if (!controls) return;
    // Starts the stream, or keeps one running (an automatic one due to stop soon included).
    stream.start(parts.cluster(), true);
    log.expect(relay.key, mode === "kill" ? "killed from this page" : "drained from this page");
    const index = indexOf(relay);
    activity.add("warn", `${mode === "kill" ? "Killing" : "Draining"} ${relay.name}…`);
    try {
      await controls.stop(index, mode);
      activity.add(
        "info",
        `${relay.name} is down (${mode === "kill" ? "SIGKILL" : "SIGTERM, drained"}). Watch its peers move.`,
      );
    } catch (error) {
      activity.add("error", `Could not stop ${relay.name}: ${(error as Error).message}`);
    }
    parts.refresh();
  };
  const restart = async (relay: RelayNode) => {
    if (!controls) return;
    activity.add("info", `Starting ${relay.name} again…`);
    try {
      await controls.start(indexOf(relay));
      activity.add("ok", `${relay.name} is up again at ${relay.address}.`);
    } catch (error) {
      activity.add("error", `Could not restart ${relay.name}: ${(error as Error).message}`);
    }
    parts.refresh();
  };
  return { stop: controls ? stop : null, restart: controls ? restart : null };
}

/** The stack numbers its relays from 1, as their names say. */
function indexOf(relay: RelayNode): number {
  return Number(/^relay (\d+)$/.exec(relay.name)?.[1] ?? Number.NaN);
}

function outageItem(outage: Outage): HTMLLIElement {
  const now = performance.now();
  const over = outage.ended !== null;
  const lasted = formatDuration((outage.ended ?? now) - outage.started);
  const pending = outage.sent - outage.answered - outage.failed;
  const headline = over
    ? `${outage.what} at ${clock(outage.startedAt)}; every relay up again ${lasted} later.`
    : `${outage.what} since ${clock(outage.startedAt)} (${lasted}).`;
  const tally = `${outage.sent} request${outage.sent === 1 ? "" : "s"} during the outage, ${outage.failed} failed${pending > 0 ? ` (${pending} still waiting)` : ""}.`;
  const item = el(
    "li",
    {
      class: `outage ${over ? "over" : "active"}${outage.failed > 0 ? " with-failures" : ""}`,
      "data-state": over ? "over" : "active",
      "data-sent": outage.sent,
      "data-answered": outage.answered,
      "data-failed": outage.failed,
    },
    el("p", {}, headline),
    el("p", { class: "tally" }, tally),
  );
  for (const { diagnosis, numbers } of outage.failures.list()) {
    item.append(el("p", { class: "error" }, `${numbers.length} × ${diagnosis.what} ${diagnosis.next}`));
  }
  return item;
}
