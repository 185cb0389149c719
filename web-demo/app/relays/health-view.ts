// The relay health list: each relay's state in words, uptime, peers, relay links, messages and bytes
// per second, queue depth and slow-consumer drops; and, when the stack offers them, buttons to kill,
// drain or restart it. Rows are kept from one poll to the next (keyed by address), so a button under
// the pointer or the keyboard focus is never swapped for a new one.

import { busy, el, formatBytes, formatByteRate, formatRate } from "../dom.ts";
import type { Scene } from "../topology/poller.ts";
import type { RelayNode } from "../topology/model.ts";
import type { StopMode } from "./control-client.ts";
import { describeCondition } from "./relay-words.ts";

export interface HealthActions {
  /** Null when the page has no relay controls. */
  stop: ((relay: RelayNode, mode: StopMode) => Promise<void>) | null;
  restart: ((relay: RelayNode) => Promise<void>) | null;
  select(relay: RelayNode): void;
}

interface Row {
  item: HTMLLIElement;
  name: HTMLButtonElement;
  pill: HTMLElement;
  where: HTMLElement;
  state: HTMLElement;
  numbers: Record<"peers" | "links" | "messages" | "bytes" | "queue" | "drops", HTMLElement>;
  kill: HTMLButtonElement;
  drain: HTMLButtonElement;
  restart: HTMLButtonElement;
  relay: RelayNode;
}

const PILL: Record<RelayNode["condition"], string> = {
  up: "up",
  draining: "draining",
  starting: "starting",
  stopping: "stopping",
  down: "down",
  "not answering": "no answer",
  unknown: "no news",
};

export class HealthView {
  private readonly rows = new Map<string, Row>();

  constructor(
    private readonly list: HTMLElement,
    private readonly actions: HealthActions,
  ) {}

  render(scene: Scene): void {
    const now = Date.now();
    const keys = new Set(scene.topology.relays.map((relay) => relay.key));
    for (const [key, row] of this.rows) {
      if (keys.has(key)) continue;
      row.item.remove();
      this.rows.delete(key);
    }
    for (const relay of scene.topology.relays) {
      const row = this.rows.get(relay.key) ?? this.create(relay);
      row.relay = relay;
      this.list.append(row.item); // keeps the topology's order
      this.update(row, relay, scene, now);
    }
  }

  private create(relay: RelayNode): Row {
    const number = (label: string) => {
      const value = el("dd", {}, "–");
      return { value, parts: [el("dt", {}, label), value] };
    };
    const peers = number("peers");
    const links = number("relay links");
    const messages = number("messages/s in");
    const bytes = number("bytes/s");
    const queue = number("queued");
    const drops = number("slow drops");
    const button = (text: string, title: string, secondary = true) =>
      el("button", { type: "button", class: secondary ? "secondary small" : "small", title }, text);
    const row: Row = {
      item: el("li", { class: "relay-row", "data-relay-key": relay.key }),
      name: el("button", { type: "button", class: "link relay-row-name" }, relay.name),
      pill: el("span", { class: "pill" }),
      where: el("span", { class: "relay-where" }),
      state: el("p", { class: "relay-state" }),
      numbers: {
        peers: peers.value,
        links: links.value,
        messages: messages.value,
        bytes: bytes.value,
        queue: queue.value,
        drops: drops.value,
      },
      kill: button("Kill", "SIGKILL: the relay vanishes at once, as in a crash; its peers notice and move"),
      drain: button("Drain", "SIGTERM: the relay asks its peers to move, lets work in progress finish, then exits"),
      restart: button("Restart", "Start this relay again at the same address", false),
      relay,
    };
    row.name.setAttribute("aria-label", `${relay.name}: show details`);
    row.name.addEventListener("click", () => this.actions.select(row.relay));
    row.kill.addEventListener(
      "click",
      () => void this.act(row, row.kill, () => this.actions.stop?.(row.relay, "kill")),
    );
    row.drain.addEventListener(
      "click",
      () => void this.act(row, row.drain, () => this.actions.stop?.(row.relay, "drain")),
    );
    row.restart.addEventListener(
      "click",
      () => void this.act(row, row.restart, () => this.actions.restart?.(row.relay)),
    );
    for (const [label, b] of [
      ["Kill", row.kill],
      ["Drain", row.drain],
      ["Restart", row.restart],
    ] as const) {
      b.setAttribute("aria-label", `${label} ${relay.name}`);
    }
    row.item.append(
      el("div", { class: "relay-row-head" }, row.name, row.pill, row.where),
      row.state,
      el(
        "dl",
        { class: "relay-numbers" },
        ...peers.parts,
        ...links.parts,
        ...messages.parts,
        ...bytes.parts,
        ...queue.parts,
        ...drops.parts,
      ),
      el("div", { class: "relay-actions" }, row.kill, row.drain, row.restart),
    );
    this.rows.set(relay.key, row);
    return row;
  }

  private async act(row: Row, button: HTMLButtonElement, action: () => Promise<void> | undefined): Promise<void> {
    row.item.dataset.busy = "true";
    try {
      await busy(button, async () => action());
    } finally {
      delete row.item.dataset.busy;
    }
  }

  private update(row: Row, relay: RelayNode, scene: Scene, now: number): void {
    row.item.dataset.condition = relay.condition;
    row.item.dataset.relayId = relay.id ?? "";
    row.item.className = `relay-row condition-${relay.condition.replace(" ", "-")}`;
    row.pill.textContent = PILL[relay.condition];
    row.pill.className = `pill pill-${relay.condition.replace(" ", "-")}`;
    row.where.textContent = `${relay.address.replace(/^wss?:\/\//, "")}${relay.own ? " · this tab's relay" : ""}`;
    row.state.textContent = describeCondition(relay, now);
    const stats = relay.stats;
    const rates = scene.rates.get(relay.key) ?? null;
    const live = relay.condition === "up" || relay.condition === "draining";
    const set = (name: keyof Row["numbers"], text: string) => (row.numbers[name].textContent = live ? text : "–");
    set("peers", stats ? String(stats.peers) : "–");
    set("links", stats ? String(stats.relayLinks) : "–");
    set("messages", rates ? formatRate(rates.messagesIn) : "…");
    set("bytes", rates ? formatByteRate(rates.bytes) : "…");
    set("queue", stats ? formatBytes(stats.queuedBytes) : "–");
    set("drops", stats ? String(stats.slowConsumerDrops + stats.slowConsumerDisconnects) : "–");
    const controllable = relay.process !== null && this.actions.stop !== null;
    const busyNow = row.item.dataset.busy === "true";
    row.kill.hidden = !controllable || relay.condition !== "up";
    row.drain.hidden = !controllable || relay.condition !== "up";
    row.restart.hidden = !controllable || relay.condition !== "down";
    if (!busyNow) for (const b of [row.kill, row.drain, row.restart]) b.disabled = false;
  }
}
