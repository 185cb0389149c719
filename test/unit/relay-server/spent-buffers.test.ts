import assert from "node:assert/strict";
import { constants, PerformanceObserver } from "node:perf_hooks";
import type { PerformanceEntry } from "node:perf_hooks";
import { test } from "node:test";
import { collectSpentBuffers } from "../../../relay-server/spent-buffers.ts";

/** Young-generation collections, as V8 reports them, from now until `stop`. */
function watchMinorCollections(): { count(): number; next(timeoutMs: number): Promise<void>; stop(): void } {
  let count = 0;
  let waiting: (() => void) | null = null;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) {
      if (entry.detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
      count++;
      waiting?.();
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    count: () => count,
    next: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no young collection within ${timeoutMs} ms`)), timeoutMs);
        waiting = () => {
          clearTimeout(timer);
          waiting = null;
          resolve();
        };
      }),
    stop: () => observer.disconnect(),
  };
}

test("buffers piling up outside the heap set off a young collection, though the young generation is nearly empty", async () => {
  const stop = collectSpentBuffers();
  const minor = watchMinorCollections();
  try {
    const before = minor.count();
    const collected = minor.next(5_000);
    // 24 MiB in 64 KiB buffers, each dropped at once: a few hundred small objects, far too few to fill
    // the young generation, so without the watcher nothing would collect them soon.
    let checksum = 0;
    for (let i = 0; i < 384; i++) {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      buffer[0] = i;
      checksum += buffer[0]!;
    }
    assert.ok(checksum > 0);
    await collected;
    assert.ok(minor.count() > before);
  } finally {
    minor.stop();
    stop();
  }
});
