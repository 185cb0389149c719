// Node's yield: setImmediate runs in the loop's check phase, so timers and socket reads get their turn
// before it fires. See yield.ts for why MessageChannel will not do in Node.

export function immediateYield(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
