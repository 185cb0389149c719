// "Serve a cluster from this tab": the tab registers as a member of a cluster. It answers requests
// ("tab 1a2b3c says: ..."), hears broadcasts, and accepts files through tunnels (see inbox.ts). Several
// clusters at once; each can be left again.

import type { Registration } from "../../../core/browser.ts";
import type { AppContext } from "../app-context.ts";
import { diagnose } from "../diagnosis.ts";
import { busy, byId, el, nameFrom, showError } from "../dom.ts";
import type { Inbox } from "./inbox.ts";

interface Membership {
  registration: Registration;
  requests: number;
  broadcasts: number;
  lastBroadcast: string;
  item: HTMLLIElement;
}

export interface MemberPanel {
  /** Joins `name` as the form would (the guide's "Serve echo from this tab"). */
  join(name: string): Promise<void>;
  serves(name: string): boolean;
  onChange(listener: () => void): void;
}

export function mountMemberPanel(app: AppContext, inbox: Inbox): MemberPanel {
  const form = byId("member-form", HTMLFormElement);
  const input = byId("member-cluster", HTMLInputElement);
  const button = byId("member-join", HTMLButtonElement);
  const list = byId("member-list");
  const error = byId("member-error");
  const memberships = new Map<string, Membership>();
  const listeners = new Set<() => void>();
  const me = app.peers.name(app.conn.peerId);
  byId("member-identity").textContent = me;
  const changed = () => {
    for (const listener of listeners) listener();
  };

  const describe = (m: Membership) => {
    const status = m.item.querySelector(".membership-status")!;
    const heard = m.broadcasts > 0 ? `, last: "${m.lastBroadcast}"` : "";
    status.textContent = `answered ${m.requests} request${m.requests === 1 ? "" : "s"}, heard ${m.broadcasts} broadcast${m.broadcasts === 1 ? "" : "s"}${heard}`;
    m.item.dataset.requests = String(m.requests);
  };

  const join = async (name: string) => {
    if (memberships.has(name)) throw new Error(`This tab is already a member of "${name}".`);
    app.names.learn(name);
    let membership: Membership | null = null;
    const registration = await app.conn.register(name, {
      request: (body) => {
        app.metrics.count("served");
        if (membership) {
          membership.requests++;
          describe(membership);
        }
        return `${me} says: ${new TextDecoder().decode(body)}`;
      },
      broadcast: (body, info) => {
        app.metrics.count("received");
        const text = new TextDecoder().decode(body);
        if (membership) {
          membership.broadcasts++;
          membership.lastBroadcast = text.slice(0, 60);
          describe(membership);
        }
        app.activity.add(
          "info",
          `Broadcast to "${name}" from ${app.peers.name(info.origin, true)}: ${text.slice(0, 80)}`,
        );
      },
      tunnel: (tunnel) => inbox.receive(tunnel),
    });
    const leave = el("button", { type: "button", class: "secondary small" }, "Leave");
    const item = el(
      "li",
      { "data-cluster": name },
      el("strong", {}, name),
      " ",
      el("span", { class: "membership-status" }),
      " ",
      leave,
    );
    membership = { registration, requests: 0, broadcasts: 0, lastBroadcast: "", item };
    memberships.set(name, membership);
    describe(membership);
    list.append(item);
    leave.setAttribute("aria-label", `Leave cluster ${name}`);
    leave.addEventListener("click", () => {
      void busy(leave, async () => {
        try {
          await registration.unregister();
          memberships.delete(name);
          item.remove();
          app.activity.add("info", `Left cluster "${name}".`);
          app.refreshTopology();
          changed();
          input.focus();
        } catch (cause) {
          showError(error, diagnose(cause, app.diagnosisContext("cluster", name)).what);
        }
      });
    });
    app.activity.add(
      "ok",
      `Joined cluster "${name}" as a member: this tab now answers its requests and accepts its tunnels.`,
    );
    app.refreshTopology();
    changed();
  };

  const joinFromForm = (name: string) =>
    busy(button, async () => {
      showError(error, null);
      try {
        await join(name);
      } catch (cause) {
        const diagnosis = diagnose(cause, app.diagnosisContext("cluster", name));
        showError(error, `${diagnosis.what} ${diagnosis.next}`);
      }
    });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameFrom(input);
    if (!name) return showError(error, "Name the cluster to join.");
    void joinFromForm(name);
  });

  return {
    join: async (name) => {
      input.value = name;
      await joinFromForm(name);
    },
    serves: (name) => memberships.has(name),
    onChange: (listener) => void listeners.add(listener),
  };
}
