// The hop budget every routed frame carries (see HOPS_OFFSET in wire/frame-layout.ts). The router, the
// backbone's probes and inspections all forward routed frames, so the one rule they share lives apart.

import { HOPS_OFFSET } from "../wire/frames.ts";

/** Lowers a routed frame's hop budget in place; false when it had none left. */
export function spendHop(bytes: Uint8Array): boolean {
  const hops = bytes[HOPS_OFFSET]!;
  if (hops === 0) return false;
  bytes[HOPS_OFFSET] = hops - 1;
  return true;
}
