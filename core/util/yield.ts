// Yielding to the event loop. An `await` on a resolved promise only runs other microtasks; a producer
// that awaits sends which resolve at once (the socket is keeping up) would otherwise never let timers
// or socket reads run, and its heartbeats would go unanswered.
//
// In browsers a MessageChannel round trip is a real task, far quicker than setTimeout's clamped delay.
// Node is different: a MessagePort delivers the messages posted while it is being drained in the same
// turn (up to a thousand), so a writer that yields through it starves timers for seconds. The Node
// entry installs a setImmediate-based yield instead (yield.node.ts).

export type Yielder = () => Promise<void>;

let channel: MessageChannel | null = null;
let waiting: Array<() => void> = [];

function messageChannelYield(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (waiting.length > 1) return;
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => {
        // Where ports can keep a process alive (Node, without its entry), only while someone waits.
        (channel!.port1 as { unref?: () => void }).unref?.();
        const ready = waiting;
        waiting = [];
        for (const wake of ready) wake();
      };
    }
    (channel.port1 as { ref?: () => void }).ref?.();
    channel.port2.postMessage(0);
  });
}

let yielder: Yielder = messageChannelYield;

/** Replaces how this runtime yields; the Node entry calls it once. */
export function useYield(next: Yielder): void {
  yielder = next;
}

export function yieldToEventLoop(): Promise<void> {
  return yielder();
}
