// "Requests and broadcasts": sends a batch of requests to a cluster (a few in flight at once) and
// shows each answer, who gave it and how long it took, with a tally per member, so load balancing is
// visible; and broadcasts a message to every member. A new action replaces the last one's results.
// Failures are diagnosed once per cause and numbered as the list numbers them.

import type { AppContext } from "../app-context.ts";
import { FailureGroups, diagnose, numberRanges } from "../diagnosis.ts";
import { busy, byId, el, formatMs, nameFrom, prepend, showError } from "../dom.ts";
import { percentile } from "../metrics.ts";

/** Requests in flight at once: enough to show balancing, few enough to read. */
const IN_FLIGHT = 4;
const MAX_BATCH = 1000;
/** The latest answers shown (the tally and the summary count them all). */
const LIST_LENGTH = 12;

export interface BatchResult {
  total: number;
  answered: number;
  members: number;
}

export interface RequestPanel {
  /** Sends `count` requests to `cluster` as the form would (used by the guide). */
  send(cluster: string, count: number): Promise<BatchResult>;
}

export function mountRequestPanel(app: AppContext): RequestPanel {
  const form = byId("request-form", HTMLFormElement);
  const cluster = byId("request-cluster", HTMLInputElement);
  const message = byId("request-message", HTMLInputElement);
  const count = byId("request-count", HTMLInputElement);
  const timeout = byId("request-timeout", HTMLInputElement);
  const send = byId("request-send", HTMLButtonElement);
  const broadcastButton = byId("broadcast-send", HTMLButtonElement);
  const summary = byId("request-summary");
  const tally = byId("request-tally");
  const results = byId("request-results");
  const errors = byId("request-error");
  /** Each action gets a number; an older one still finishing does not write over a newer one. */
  let action = 0;

  const clear = () => {
    tally.replaceChildren();
    results.replaceChildren();
    showError(errors, null);
  };

  const runBatch = async (name: string, total: number): Promise<BatchResult> => {
    const mine = ++action;
    const timeoutMs = Math.max(100, Number(timeout.value) || 10_000);
    const body = message.value;
    const counts = new Map<string, number>();
    const failures = new FailureGroups();
    const times: number[] = [];
    let next = 1;
    clear();
    summary.textContent = `Sending ${total} request${total === 1 ? "" : "s"} to "${name}"…`;

    const one = async (i: number): Promise<void> => {
      const outcome = await app.sender.send(name, `${body} #${i}`, timeoutMs);
      if (mine !== action) return;
      if (outcome.ok) {
        times.push(outcome.ms);
        counts.set(outcome.responder, (counts.get(outcome.responder) ?? 0) + 1);
        const route = outcome.route === "direct" ? " · direct link" : "";
        prepend(
          results,
          el(
            "li",
            { "data-responder": outcome.responder, "data-number": i },
            el("strong", {}, `#${i} ${outcome.responder}`),
            ` · ${formatMs(outcome.ms)}${route} · ${outcome.said.slice(0, 120)}`,
          ),
          LIST_LENGTH,
        );
        renderTally(counts);
      } else {
        failures.add(i, outcome.diagnosis);
        prepend(
          results,
          el(
            "li",
            { class: "failed", "data-number": i, "data-cause": outcome.diagnosis.cause },
            el("strong", {}, `#${i} failed`),
            `: ${outcome.diagnosis.short} (see above)`,
          ),
          LIST_LENGTH,
        );
        renderFailures(failures);
      }
    };
    const worker = async () => {
      while (next <= total) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, total) }, worker));
    const answered = times.length;
    if (mine === action) {
      const sorted = times.sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const p99 = percentile(sorted, 0.99);
      summary.textContent =
        `${answered} of ${total} answered by ${counts.size} member${counts.size === 1 ? "" : "s"}` +
        (p50 !== null && p99 !== null ? `; latency p50 ${formatMs(p50)}, p99 ${formatMs(p99)}.` : ".");
      app.activity.add(failures.size > 0 ? "warn" : "ok", `Requests to "${name}": ${answered} of ${total} answered.`);
    }
    return { total, answered, members: counts.size };
  };

  const renderFailures = (failures: FailureGroups) => {
    errors.replaceChildren(
      ...failures
        .list()
        .map(({ diagnosis, numbers }) =>
          el(
            "li",
            { "data-cause": diagnosis.cause, "data-count": numbers.length },
            el(
              "strong",
              {},
              `${numbers.length} request${numbers.length === 1 ? "" : "s"} (${numberRanges(numbers)}): `,
            ),
            diagnosis.what,
            " ",
            el("span", { class: "next" }, `Next: ${diagnosis.next}`),
          ),
        ),
    );
    errors.hidden = failures.size === 0;
  };

  const renderTally = (counts: Map<string, number>) => {
    tally.replaceChildren(
      ...[...counts]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([responder, n]) =>
          el("li", { "data-responder": responder, "data-count": n }, el("strong", {}, responder), `: ${n}`),
        ),
    );
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameFrom(cluster);
    if (!name) return void (summary.textContent = "Name the cluster to send requests to.");
    app.names.learn(name);
    const total = Math.min(MAX_BATCH, Math.max(1, Math.floor(Number(count.value) || 1)));
    void busy(send, () => runBatch(name, total));
  });

  broadcastButton.addEventListener("click", () => {
    const name = nameFrom(cluster);
    if (!name) return void (summary.textContent = "Name the cluster to broadcast to.");
    const mine = ++action;
    clear();
    summary.textContent = `Broadcasting to "${name}"…`;
    void busy(broadcastButton, async () => {
      try {
        await app.conn.broadcast(name, message.value);
        if (mine !== action) return;
        summary.textContent = `Broadcast sent to every member of "${name}" (tabs show it under "Serve a cluster"; Node members print it).`;
        app.activity.add("ok", `Broadcast to "${name}": "${message.value.slice(0, 60)}".`);
      } catch (cause) {
        if (mine !== action) return;
        summary.textContent = `The broadcast to "${name}" failed.`;
        const diagnosis = diagnose(cause, app.diagnosisContext("cluster", name));
        const failures = new FailureGroups();
        failures.add(1, diagnosis);
        renderFailures(failures);
      }
    });
  });

  return {
    send: (name, total) => {
      cluster.value = name;
      count.value = String(total);
      app.names.learn(name);
      return busy(send, () => runBatch(name, total));
    },
  };
}
