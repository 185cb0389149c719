// Running something once the current turn of the event loop is over: after the synchronous code and every
// promise job it queued. Links use it to send what one turn produced as one message. A microtask would
// run too early (between the awaits of a producer's loop, so every message would leave alone); a timer
// would run too late (browsers clamp setTimeout to 4 ms once nested).
//
// In browsers a MessageChannel message is such a task. Node's entry passes setImmediate instead, which
// runs after the I/O callbacks of the current loop iteration; see transports/websocket.node.ts.

/** Runs `callback` once the current turn of the event loop is over. */
export type AfterTurn = (callback: () => void) => void;

let channel: MessageChannel | null = null;
let queued: Array<() => void> = [];

/** The browsers' AfterTurn: one MessageChannel message per turn, however many callbacks wait for it. */
export const afterTurn: AfterTurn = (callback) => {
  queued.push(callback);
  if (queued.length > 1) return;
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => {
      // Where ports can keep a process alive (Node without its entry, in tests), only while work waits.
      (channel!.port1 as { unref?: () => void }).unref?.();
      const run = queued;
      queued = [];
      for (const next of run) next();
    };
  }
  (channel.port1 as { ref?: () => void }).ref?.();
  channel.port2.postMessage(0);
};
