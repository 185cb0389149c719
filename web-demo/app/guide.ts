// The guided path on the first screen: four steps that show what iris-mesh does, each with the control
// that does it, each ticking itself off when it has happened, whoever did it (a step done from another
// tab counts here too, as far as this tab can see it in the topology).
//
//   1. open a second tab          done when the relays report two tabs or more
//   2. serve the cluster from it  done when a tab is a member of it
//   3. send requests              done when this tab has had an answer
//   4. stop a relay               done when an outage has begun (and the tally below counts through it)

import { el } from "./dom.ts";
import type { Names } from "./names.ts";
import type { RequestPanel } from "./panels/requests.ts";
import type { MemberPanel } from "./panels/member.ts";
import type { RequestSender } from "./request-sender.ts";
import { isTab } from "./topology/model.ts";
import type { Topology } from "./topology/model.ts";

type StepId = "second-tab" | "serve" | "requests" | "stop-relay";

interface Step {
  id: StepId;
  item: HTMLLIElement;
  note: HTMLElement;
  done: boolean;
}

export interface GuideParts {
  names: Names;
  members: MemberPanel;
  requests: RequestPanel;
  sender: RequestSender;
  /** The cluster the guide is about: "echo" in development mode, the first keyed name otherwise. */
  cluster: string;
  /** Relay controls are available (npm start's development stack). */
  controls: boolean;
  /** The link to open in a second tab (this page's, keys included). */
  link: () => string;
}

export class Guide {
  private readonly steps = new Map<StepId, Step>();
  private readonly progress: HTMLElement;

  constructor(
    box: HTMLElement,
    private readonly parts: GuideParts,
  ) {
    const cluster = parts.cluster;
    this.progress = el("p", { class: "guide-progress", "aria-live": "polite" });
    const open = el(
      "a",
      { href: parts.link(), target: "_blank", rel: "noopener", class: "button secondary" },
      "Open a second tab",
    );
    open.addEventListener("focus", () => (open.href = parts.link()));
    open.addEventListener("pointerenter", () => (open.href = parts.link()));
    const serve = el(
      "button",
      { type: "button", class: "secondary", id: "guide-serve" },
      `Serve "${cluster}" from this tab`,
    );
    serve.addEventListener("click", () => void parts.members.join(cluster));
    const send = el("button", { type: "button", id: "guide-send" }, `Send 20 requests to "${cluster}"`);
    const sendNote = el("span", { class: "guide-result" });
    send.addEventListener("click", async () => {
      const result = await parts.requests.send(cluster, 20);
      sendNote.textContent = `${result.answered} of ${result.total} answered by ${result.members} member${result.members === 1 ? "" : "s"}.`;
    });
    const relays = el("a", { href: "#relays-panel", class: "button secondary" }, "Go to the relay list");
    const list = el("ol", { class: "guide-steps" });
    const add = (id: StepId, title: string, text: string, ...controls: Node[]) => {
      const note = el("span", { class: "guide-note" });
      const item = el(
        "li",
        { "data-step": id, "data-done": "false" },
        el("span", { class: "guide-check", "aria-hidden": "true" }),
        el("span", { class: "visually-hidden guide-done" }),
        el(
          "div",
          {},
          el("strong", {}, title),
          " ",
          el("span", { class: "hint" }, text),
          el("div", { class: "guide-actions" }, ...controls, note),
        ),
      );
      list.append(item);
      this.steps.set(id, { id, item, note, done: false });
    };
    add("second-tab", "Open a second tab.", "Every tab is a peer, like the Node ones.", open);
    add("serve", `Serve "${cluster}" from it.`, "It joins the cluster beside the Node members.", serve);
    add("requests", "Send requests.", "Balanced over every member, tabs included.", send, sendNote);
    add(
      "stop-relay",
      "Stop a relay.",
      parts.controls ? "Peers move, and requests keep succeeding." : "Not from this page (not served by npm start).",
      relays,
    );
    box.append(el("h2", { id: "guide-title" }, "Try it in four steps"), this.progress, list);
    parts.sender.onOutcome((outcome) => {
      if (outcome.ok) this.mark("requests", true);
    });
    this.render();
  }

  /** Follows the topology: tabs present, tabs serving the cluster, relays down. */
  observe(topology: Topology, outageSeen: boolean): void {
    const tabs = topology.peers.filter((peer) => isTab(peer) && !peer.stale);
    this.mark("second-tab", tabs.length >= 2, tabs.length >= 2 ? `${tabs.length} tabs in the mesh.` : "");
    const ids = new Set<string>();
    for (const peer of tabs)
      for (const id of peer.clusters) if (this.parts.names.lookup(id)?.name === this.parts.cluster) ids.add(peer.id);
    const serving = ids.size;
    this.mark("serve", serving > 0, serving > 0 ? `${serving} tab${serving === 1 ? "" : "s"} serving it.` : "");
    this.mark("stop-relay", outageSeen);
  }

  private mark(id: StepId, done: boolean, note?: string): void {
    const step = this.steps.get(id)!;
    if (note !== undefined) step.note.textContent = note;
    // Once done, a step stays done: closing the second tab later does not undo having seen it.
    if (!done || step.done) return;
    step.done = true;
    step.item.dataset.done = "true";
    this.render();
  }

  private render(): void {
    const done = [...this.steps.values()].filter((step) => step.done).length;
    this.progress.textContent = `${done} of ${this.steps.size} done.`;
    for (const step of this.steps.values()) {
      step.item.querySelector(".guide-check")!.textContent = step.done ? "✓" : "";
      step.item.querySelector(".guide-done")!.textContent = step.done ? "Done: " : "";
    }
  }
}
