// Yielding to the event loop. An `await` on a resolved promise only runs other microtasks; a producer
// that awaits sends which resolve at once (the socket is keeping up) would otherwise never let timers
// or socket reads run, and its heartbeats would go unanswered. A MessageChannel round trip is a real
// turn of the event loop in browsers and Node, and far quicker than setTimeout's clamped delay.

let channel: MessageChannel | null = null;
let waiting: Array<() => void> = [];

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (waiting.length > 1) return;
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => {
        // In Node a port with a listener keeps the process alive: only while someone is waiting.
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
