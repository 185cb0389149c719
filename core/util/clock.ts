// Time is injected, never read from globals inside the engines, so a simulation can run many nodes on
// virtual time and tests can be deterministic.

export type TimerHandle = { readonly __timer: unique symbol } | number | object;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

/** A repeating timer built on Clock.setTimeout, so it also runs on virtual time. */
export function every(clock: Clock, ms: number, callback: () => void): () => void {
  let handle: TimerHandle | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    handle = clock.setTimeout(tick, ms);
    callback();
  };
  handle = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    if (handle !== null) clock.clearTimeout(handle);
  };
}
