// A small typed event emitter. EventTarget would do, but typed listeners with plain arguments read better
// at call sites and need no Event subclasses.

/** A listener of one event: it gets the event's payload. */
export type Listener<T> = (event: T) => void;

/**
 * `Events` maps each event name to its payload. It needs no index signature, so a misspelt name in
 * on(), once() or emit() is a type error.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /**
   * Calls `listener` on every event `name` from now on; returns the function that stops it. A listener
   * that throws is logged and does not disturb the others.
   */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  /** Calls `listener` on the next event `name` only; returns the function that cancels it. */
  once<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(name, (event) => {
      off();
      listener(event);
    });
    return off;
  }

  /** Stops a listener that on() added. */
  off<K extends keyof Events>(name: K, listener: Listener<Events[K]>): void {
    this.listeners.get(name)?.delete(listener as Listener<never>);
  }

  /** Resolves with the next event of that name. */
  next<K extends keyof Events>(name: K): Promise<Events[K]> {
    return new Promise((resolve) => this.once(name, resolve));
  }

  protected emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (error) {
        // A listener's bug must not break the engine that emitted the event.
        console.error(`listener for "${String(name)}" threw`, error);
      }
    }
  }
}
