// The activity log: one line per thing that happened to this tab (joined, lost the relay, a file
// arrived...), newest first. Polite live region: screen readers hear it without being interrupted.

import { clock, el, prepend } from "./dom.ts";

export type ActivityKind = "info" | "ok" | "warn" | "error";

export class Activity {
  constructor(private readonly list: HTMLElement) {}

  add(kind: ActivityKind, text: string): void {
    prepend(this.list, el("li", { class: `activity-${kind}` }, el("time", {}, clock()), " ", text), 15);
  }
}
