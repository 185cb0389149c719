// A relay's state in words, the same in the health list, the details and the picture's labels.

import { formatDuration } from "../dom.ts";
import type { RelayNode } from "../topology/model.ts";

export function describeCondition(relay: RelayNode, now: number): string {
  const since = relay.process ? ` for ${formatDuration(now - relay.process.since)}` : "";
  switch (relay.condition) {
    case "up":
      return relay.stats ? `up for ${formatDuration(relay.stats.uptimeMs)}` : "up";
    case "draining":
      return "draining: it asks its peers to move, then exits";
    case "starting":
      return `starting${since}`;
    case "stopping":
      return "stopping";
    case "down":
      return `down${since}${relay.process?.lastExit ? ` (${relay.process.lastExit})` : ""}`;
    case "not answering":
      return "not answering this tab's inspections";
    case "unknown":
      return "not known: this tab has no relay to ask right now";
  }
}
