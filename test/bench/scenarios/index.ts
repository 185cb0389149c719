// Every scenario of `npm run bench`, in the order a full run takes them; `npm run bench -- <name> ...`
// runs some. One line registers a scenario: its file exports a Scenario (see ../lib/scenario.ts).

import type { Scenario } from "../lib/scenario.ts";

export const SCENARIOS: readonly Scenario[] = [
  (await import("./pubsub.ts")).pubsub,
  (await import("./fanout.ts")).fanout,
  (await import("./stall.ts")).stall,
  (await import("./reqrep.ts")).reqrep,
  (await import("./latency.ts")).latency,
  (await import("./compress.ts")).compress,
  (await import("./tunnel.ts")).tunnel,
  (await import("./webrtc.ts")).webrtc,
  (await import("./idle.ts")).idle,
];
