// "Requests and broadcasts": sends a batch of requests to a cluster (a few in flight at once) and
// shows each answer, who gave it and how long it took, with a tally per member, so load balancing is
// visible; and broadcasts a message to every member.

import { errorContext } from "../app-context.ts";
import type { AppContext } from "../app-context.ts";
import { describeError } from "../describe-error.ts";
import { busy, byId, el, formatMs, nameFrom, prepend, showError } from "../dom.ts";
import { percentile } from "../metrics.ts";

/** Requests in flight at once: enough to show balancing, few enough to read. */
const IN_FLIGHT = 4;
const MAX_BATCH = 1000;

interface Outcome {
  ok: boolean;
  ms: number;
  responder: string;
  text: string;
}

/** Who answered, from the reply's own words: "tab 1a2b3c says: ..." or "echo-member-2 (...) heard: ...". */
export function responderOf(reply: string): string {
  const match = /^(.{1,60}?) (?:says|heard):/.exec(reply);
  return match?.[1] ?? "a member";
}

export function mountRequestPanel(app: AppContext): void {
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
  const error = byId("request-error");

  const runBatch = async (name: string) => {
    const total = Math.min(MAX_BATCH, Math.max(1, Math.floor(Number(count.value) || 1)));
    const timeoutMs = Math.max(100, Number(timeout.value) || 10_000);
    const body = message.value;
    const outcomes: Outcome[] = [];
    const counts = new Map<string, number>();
    const failures = new Map<string, number>();
    let next = 1;
    summary.textContent = `Sending ${total} request${total === 1 ? "" : "s"} to "${name}"…`;
    tally.replaceChildren();

    const one = async (i: number): Promise<void> => {
      const started = performance.now();
      app.metrics.count("sent");
      try {
        const reply = new TextDecoder().decode(await app.conn.request(name, `${body} #${i}`, { timeout: timeoutMs }));
        const ms = performance.now() - started;
        app.metrics.count("answered");
        app.metrics.latency(ms);
        const responder = responderOf(reply);
        counts.set(responder, (counts.get(responder) ?? 0) + 1);
        outcomes.push({ ok: true, ms, responder, text: reply });
        prepend(
          results,
          el(
            "li",
            { "data-responder": responder },
            el("strong", {}, `#${i} ${responder}`),
            ` in ${formatMs(ms)}: ${reply.slice(0, 120)}`,
          ),
          20,
        );
      } catch (cause) {
        const text = describeError(cause, errorContext(app, "cluster", name));
        failures.set(text, (failures.get(text) ?? 0) + 1);
        outcomes.push({ ok: false, ms: performance.now() - started, responder: "", text });
        prepend(results, el("li", { class: "failed" }, el("strong", {}, `#${i} failed`), `: ${text}`), 20);
      }
      renderTally(counts);
    };
    const worker = async () => {
      while (next <= total) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, total) }, worker));

    const answered = outcomes.filter((o) => o.ok);
    const times = answered.map((o) => o.ms).sort((a, b) => a - b);
    const p50 = percentile(times, 0.5);
    const p99 = percentile(times, 0.99);
    summary.textContent =
      `${answered.length} of ${total} answered by ${counts.size} member${counts.size === 1 ? "" : "s"}` +
      (p50 !== null && p99 !== null ? `; latency p50 ${formatMs(p50)}, p99 ${formatMs(p99)}.` : ".");
    // One message per kind of failure, not one per request.
    showError(
      error,
      failures.size > 0
        ? [...failures].map(([text, n]) => (n > 1 ? `${text} (${n} requests)` : text)).join("\n")
        : null,
    );
    app.activity.add(
      failures.size > 0 ? "warn" : "ok",
      `Requests to "${name}": ${answered.length} of ${total} answered.`,
    );
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
    if (!name) return showError(error, "Name the cluster to send requests to.");
    showError(error, null);
    app.names.learn(name);
    void busy(send, () => runBatch(name));
  });

  broadcastButton.addEventListener("click", () => {
    const name = nameFrom(cluster);
    if (!name) return showError(error, "Name the cluster to broadcast to.");
    showError(error, null);
    void busy(broadcastButton, async () => {
      try {
        await app.conn.broadcast(name, message.value);
        summary.textContent = `Broadcast sent to every member of "${name}" (members that are tabs show it; Node members log it).`;
        app.activity.add("ok", `Broadcast to "${name}": "${message.value.slice(0, 60)}".`);
      } catch (cause) {
        showError(error, describeError(cause, errorContext(app, "cluster", name)));
      }
    });
  });
}
