// "Publish and subscribe": subscribe this tab to topics (the demo's "ticks" ticks every second), see
// what arrives and from whom, and publish. A tab hears its own publishes, as in Iris.

import type { Subscription } from "../../../core/browser.ts";
import { errorContext } from "../app-context.ts";
import type { AppContext } from "../app-context.ts";
import { describeError } from "../describe-error.ts";
import { busy, byId, clock, el, nameFrom, prepend, short, showError } from "../dom.ts";

export function mountPubSubPanel(app: AppContext): void {
  const form = byId("topic-form", HTMLFormElement);
  const topic = byId("topic-name", HTMLInputElement);
  const message = byId("topic-message", HTMLInputElement);
  const subscribeButton = byId("topic-subscribe", HTMLButtonElement);
  const publishButton = byId("topic-publish", HTMLButtonElement);
  const subscriptions = byId("subscriptions");
  const messages = byId("topic-messages");
  const error = byId("topic-error");
  const active = new Map<string, Subscription>();

  const subscribe = async (name: string) => {
    if (active.has(name)) throw new Error(`This tab already subscribes to "${name}".`);
    app.names.learn(name);
    const subscription = await app.conn.subscribe(name, (body, info) => {
      app.metrics.count("received");
      const text = new TextDecoder().decode(body);
      const from = info.origin === app.conn.peerId ? "this tab" : short(info.origin);
      prepend(
        messages,
        el(
          "li",
          { "data-topic": name },
          el("time", {}, clock()),
          " ",
          el("strong", {}, `#${name}`),
          ` from ${from}: ${text.slice(0, 160)}`,
        ),
        30,
      );
    });
    active.set(name, subscription);
    const leave = el(
      "button",
      { type: "button", class: "secondary", "aria-label": `Unsubscribe from ${name}` },
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
          app.refreshTopology();
          topic.focus();
        } catch (cause) {
          showError(error, describeError(cause, errorContext(app, "topic", name)));
        }
      });
    });
    app.activity.add("ok", `Subscribed to "${name}".`);
    app.refreshTopology();
  };

  subscribeButton.addEventListener("click", () => {
    const name = nameFrom(topic);
    if (!name) return showError(error, "Name the topic to subscribe to.");
    showError(error, null);
    void busy(subscribeButton, async () => {
      try {
        await subscribe(name);
      } catch (cause) {
        showError(error, describeError(cause, errorContext(app, "topic", name)));
      }
    });
  });

  // Enter in the form publishes: the message field is where a person types.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameFrom(topic);
    if (!name) return showError(error, "Name the topic to publish to.");
    showError(error, null);
    app.names.learn(name);
    void busy(publishButton, async () => {
      try {
        await app.conn.publish(name, message.value);
        app.activity.add(
          "ok",
          `Published to "${name}"${active.has(name) ? "" : " (this tab does not subscribe to it, so it will not show here)"}.`,
        );
      } catch (cause) {
        showError(error, describeError(cause, errorContext(app, "topic", name)));
      }
    });
  });
}
