// Node's scheduling (see scheduling.ts): setImmediate runs in the loop's check phase, after the I/O
// callbacks of the current iteration, so timers and socket reads get their turn before it, and what a
// relay forwards while it reads every ready socket leaves in one message per link.

import type { Scheduling } from "./scheduling.ts";

export const nodeScheduling: Scheduling = {
  yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),
  afterTurn: (callback) => {
    setImmediate(callback);
  },
};
