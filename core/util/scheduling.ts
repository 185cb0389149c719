// How work is spread over turns of the event loop, which differs between runtimes and is injected like
// the clock (ConnectOptions.scheduling; Node's entry passes scheduling.node.ts):
//
// - yieldToEventLoop: an `await` on a resolved promise only runs other microtasks, so a producer whose
//   sends resolve at once (the socket keeps up) would never let timers or socket reads run, and its
//   heartbeats would go unanswered. It yields a real turn now and then.
// - afterTurn: runs a callback once the current turn is over (its synchronous code and every promise job
//   it queued). Links and senders use it so that what one turn produced leaves together. A microtask would
//   run too early (between the awaits of a producer's loop, so every message would leave alone); a timer
//   too late (browsers clamp nested setTimeout to 4 ms).
//
// In browsers a MessageChannel message is such a turn, far quicker than a clamped timer. Node is
// different: a MessagePort delivers the messages posted while it is being drained in the same turn (up
// to a thousand), so a writer that yields through it starves timers for seconds; Node uses setImmediate.

/** Runs `callback` once the current turn of the event loop is over. */
export type AfterTurn = (callback: () => void) => void;

export interface Scheduling {
  yieldToEventLoop(): Promise<void>;
  afterTurn: AfterTurn;
}

let channel: MessageChannel | null = null;
let queued: Array<() => void> = [];

/** One MessageChannel message per turn, however many callbacks wait for it. */
const messageChannelAfterTurn: AfterTurn = (callback) => {
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

/** Browsers' scheduling, and the default wherever nothing better is injected. */
export const browserScheduling: Scheduling = {
  yieldToEventLoop: () => new Promise((resolve) => messageChannelAfterTurn(resolve)),
  afterTurn: messageChannelAfterTurn,
};
