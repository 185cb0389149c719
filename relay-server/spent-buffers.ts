// Frees a busy relay's spent socket buffers with cheap young-generation collections.
//
// Every WebSocket message a relay reads arrives in buffers that live outside V8's heap (Node's 64 KiB
// socket reads, and ws's copy when a message spans two of them), dead a moment later. V8 frees such a
// buffer when it collects the small object that holds it: in a young-generation collection if that
// comes first, otherwise in a full one. A relay allocates little else, so its young generation (up to
// 16 MiB) rarely fills; instead, once enough outside memory is held (every 30 to 60 ms at full speed),
// V8 runs a full collection. At 1 KiB pub/sub speed that was 13 full collections in a second and a
// quarter to a third of each relay's CPU.
//
// Starting Node with --max-semi-space-size=1 fixes that as well, but at every load: a relay holding
// 10,000 idle peers then collected its young generation so often that its CPU rose from 4.0 to 4.7% of
// a core and its request p99 doubled. Collecting once outside memory has grown by COLLECT_AFTER_BYTES
// does nothing when little flows, and keeps a busy relay's buffers from waiting for a full collection
// (1 to 4 full collections in that second instead of 13).

import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Well under what V8 lets outside memory grow by (20 to 40 MiB here) before it starts a full collection. */
const COLLECT_AFTER_BYTES = 8 * 1024 * 1024;
/** A busy relay reads about 6 MiB in this time; an idle one spends about a microsecond per look. */
const CHECK_EVERY_MS = 10;

type Collect = (options: { type: "minor" }) => void;

/** Starts watching; the returned function stops. The timer does not keep the process alive. */
export function collectSpentBuffers(): () => void {
  // A fresh context gets `gc` once the flag is set; the relay's own global stays as it was.
  setFlagsFromString("--expose-gc");
  const collect = runInNewContext("gc") as Collect;
  // external_memory, unlike process.memoryUsage(), costs no system call.
  const outside = () => getHeapStatistics().external_memory;
  let baseline = outside();
  const timer = setInterval(() => {
    const held = outside();
    // Buffers are freed a little after the collection that found them dead: follow the level down.
    if (held < baseline) baseline = held;
    if (held - baseline < COLLECT_AFTER_BYTES) return;
    collect({ type: "minor" });
    // What survived (a slow consumer's queue, say) is the new level, so it does not set off another.
    baseline = outside();
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
