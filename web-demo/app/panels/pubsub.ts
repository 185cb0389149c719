// "Publish and subscribe": subscribe this tab to topics (the demo's "ticks" ticks every second), see
// what arrives and from whom, and publish. A tab hears its own publishes, as in Iris.

import type { Subscription } from "../../../core/browser.ts";
import type { AppContext } from "../app-context.ts";
import { diagnose } from "../diagnosis.ts";
import { busy, byId, clock, el, nameFrom, prepend, showError } from "../dom.ts";

export function mountPubSubPanel(app: AppContext): void {
  const form = byId("topic-form", HTMLFormElement);
  const topic = byId("topic-name", HTMLInputElement);
  const message = byId("topic-message", HTMLInputElement);
  const subscribeButton = byId("topic-subscribe", HTMLButtonElement);
  const publishButton = byId("topic-publish", HTMLButtonElement);
  const subscriptions = byId("subscriptions");
  const messages = byId("topic-messages");
  const status = byId("topic-status");
  const error = byId("topic-error");
  const active = new Map<string, Subscription>();

  /** One line of outcome per action: the newest replaces the last. */
  const report = (text: string | null, failure: string | null = null) => {
    status.textContent = text ?? "";
    showError(error, failure);
  };
  const fail = (cause: unknown, name: string) => {
    const diagnosis = diagnose(cause, app.diagnosisContext("topic", name));
    report(null, `${diagnosis.what} ${diagnosis.next}`.trim());
  };

  const subscribe = async (name: string) => {
    if (active.has(name)) return report(`This tab already subscribes to "${name}".`);
    app.names.learn(name);
    const subscription = await app.conn.subscribe(name, (body, info) => {
      app.metrics.count("received");
      const text = new TextDecoder().decode(body);
      prepend(
        messages,
        el(
          "li",
          { "data-topic": name, "data-from": info.origin },
          el("time", {}, clock()),
          " ",
          el("strong", {}, `#${name}`),
          ` from ${app.peers.name(info.origin, true)}: ${text.slice(0, 160)}`,
        ),
        10,
      );
    });
    active.set(name, subscription);
    const leave = el(
      "button",
      { type: "button", class: "secondary small", "aria-label": `Unsubscribe from ${name}` },
      "Unsubscribe",
    );
    const item = el("li", { "data-topic": name }, el("strong", {}, `#${name}`), " ", leave);
    subscriptions.append(item);
    leave.addEventListener("click", () => {
      void busy(leave, async () => {
        try {
          await subscription.unsubscribe();
          active.delete(name);
          item.remove();
          report(`Unsubscribed from "${name}".`);
          app.refreshTopology();
          topic.focus();
        } catch (cause) {
          fail(cause, name);
        }
      });
    });
    report(`Subscribed to "${name}": what is published there appears below.`);
    app.activity.add("ok", `Subscribed to "${name}".`);
    app.refreshTopology();
  };

  subscribeButton.addEventListener("click", () => {
    const name = nameFrom(topic);
    if (!name) return report(null, "Name the topic to subscribe to.");
    report(`Subscribing to "${name}"…`);
    void busy(subscribeButton, async () => {
      try {
        await subscribe(name);
      } catch (cause) {
        fail(cause, name);
      }
    });
  });

  // Enter in the form publishes: the message field is where a person types.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameFrom(topic);
    if (!name) return report(null, "Name the topic to publish to.");
    app.names.learn(name);
    report(`Publishing to "${name}"…`);
    void busy(publishButton, async () => {
      try {
        await app.conn.publish(name, message.value);
        report(
          `Published to "${name}"${active.has(name) ? "" : " (this tab does not subscribe to it, so it will not show here)"}.`,
        );
      } catch (cause) {
        fail(cause, name);
      }
    });
  });
}
