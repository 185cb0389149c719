// Shared plumbing for the unit tests: a relay on an in-memory network, peers attached to it, a
// deterministic random source, a link wrapper that counts what crosses it, and small promise helpers.

import { connect, generateKey, LinkWrapper, MemoryNetwork, Relay } from "../../../core/index.ts";
import type { ConnectOptions, Connection, Dialer, Link, LinkHandlers, RelayOptions } from "../../../core/index.ts";
import { decodeFrame } from "../../../core/wire/frames.ts";
import type { Frame } from "../../../core/wire/frames.ts";

// Seeded, so load balancing and reconnect jitter are the same on every run.
import { seededRandom } from "../../fixtures/virtual-clock.ts";
export { seededRandom };

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Lets everything in flight on in-memory links settle. Memory links deliver through microtasks only, so
 * once a few macrotask turns have passed every frame sent before has been delivered and handled (and
 * whatever those handlers sent in turn, unless they wait on a timer). This is a drain, not a sleep.
 */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Resolves once `count()` reaches `target`, checking after each call of the returned `bump`. */
export function counter(target: number): { bump(): number; readonly value: number; reached: Promise<void> } {
  const done = deferred();
  let value = 0;
  if (target <= 0) done.resolve();
  return {
    bump() {
      value++;
      if (value === target) done.resolve();
      return value;
    },
    get value() {
      return value;
    },
    reached: done.promise,
  };
}

/** A link that reports every frame that crosses it, both ways, to `observe`; otherwise transparent. */
export class TappedLink extends LinkWrapper {
  constructor(
    inner: Link,
    private readonly observe: (direction: "out" | "in", bytes: Uint8Array) => void,
  ) {
    super(inner);
  }
  override listen(handlers: LinkHandlers): void {
    this.inner.listen({
      frame: (bytes) => {
        this.observe("in", bytes);
        handlers.frame(bytes);
      },
      close: (code, reason) => handlers.close(code, reason),
    });
  }
  override send(frame: Uint8Array): void {
    if (!this.inner.closed) this.observe("out", frame);
    this.inner.send(frame);
  }
}

/** Decoded frames a peer sent and received, kept for assertions. */
export class FrameLog {
  readonly out: Frame[] = [];
  readonly in: Frame[] = [];
  private readonly listeners = new Set<(direction: "out" | "in", frame: Frame) => void>();

  /** A dialer that taps every link it opens into this log. */
  dialer(inner: Dialer): Dialer {
    return async (address, options) => new TappedLink(await inner(address, options), (d, bytes) => this.record(d, bytes));
  }

  onFrame(listener: (direction: "out" | "in", frame: Frame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  sent(type: number): Frame[] {
    return this.out.filter((frame) => frame.type === type);
  }

  received(type: number): Frame[] {
    return this.in.filter((frame) => frame.type === type);
  }

  private record(direction: "out" | "in", bytes: Uint8Array): void {
    // Decoded frames hold views: copy so later reuse of the buffer cannot change the log.
    const frame = decodeFrame(bytes.slice());
    (direction === "out" ? this.out : this.in).push(frame);
    for (const listener of this.listeners) listener(direction, frame);
  }
}

/**
 * A dialer whose links hand each arriving frame to `meddle` first, as a hostile relay would: it returns
 * the frames to deliver instead (none drops it). `inject` delivers a frame of the test's own making.
 */
export function meddlingDialer(inner: Dialer): {
  dialer: Dialer;
  meddle: ((bytes: Uint8Array) => Uint8Array[]) | null;
  inject(bytes: Uint8Array): void;
} {
  let deliver: ((bytes: Uint8Array) => void) | null = null;
  const meddling = {
    meddle: null as ((bytes: Uint8Array) => Uint8Array[]) | null,
    inject: (bytes: Uint8Array) => deliver?.(bytes),
    dialer: (async (address, options) => new MeddledLink(await inner(address, options))) as Dialer,
  };
  class MeddledLink extends LinkWrapper {
    override listen(handlers: LinkHandlers): void {
      deliver = (bytes) => handlers.frame(bytes);
      this.inner.listen({
        frame: (bytes) => {
          for (const out of meddling.meddle ? meddling.meddle(bytes.slice()) : [bytes]) handlers.frame(out);
        },
        close: (code, reason) => handlers.close(code, reason),
      });
    }
  }
  return meddling;
}

/** A dialer that refuses to dial while `open` is false: a peer whose own network is down. */
export function gatedDialer(inner: Dialer): { dialer: Dialer; open: boolean } {
  const gate = {
    open: true,
    dialer: (async (address, options) => {
      if (!gate.open) throw new Error(`connection refused: ${address} (test gate closed)`);
      return inner(address, options);
    }) as Dialer,
  };
  return gate;
}

export const RELAY_ADDRESS = "mem://relay-1";

/** One relay on a memory network, plus bookkeeping so a test file can close everything in after(). */
export class Mesh {
  readonly net = new MemoryNetwork();
  relay: Relay;
  private unlisten: () => void;
  private readonly connections: Connection[] = [];
  private seed = 1;

  constructor(
    readonly keys: Record<string, string>,
    relayOptions: RelayOptions = {},
  ) {
    this.relay = new Relay({ random: seededRandom(7), ...relayOptions });
    this.unlisten = this.net.listen(RELAY_ADDRESS, this.relay);
  }

  /** Attaches a new peer holding this mesh's keys. */
  async peer(options: Partial<ConnectOptions> = {}): Promise<Connection> {
    const conn = await connect({
      relays: [RELAY_ADDRESS],
      dialer: this.net.dialer,
      keys: this.keys,
      random: seededRandom(this.seed++),
      ...options,
    });
    this.connections.push(conn);
    return conn;
  }

  async peers(count: number, options: Partial<ConnectOptions> = {}): Promise<Connection[]> {
    const out: Connection[] = [];
    for (let i = 0; i < count; i++) out.push(await this.peer(options));
    return out;
  }

  /** Stops the current relay and starts a fresh one at the same address. */
  replaceRelay(relayOptions: RelayOptions = {}, listen = true): Relay {
    this.relay.close();
    this.unlisten();
    this.relay = new Relay({ random: seededRandom(11), ...relayOptions });
    this.unlisten = listen ? this.net.listen(RELAY_ADDRESS, this.relay) : () => {};
    return this.relay;
  }

  /** Makes the current relay reachable (after replaceRelay(…, false)). */
  listen(): void {
    this.unlisten = this.net.listen(RELAY_ADDRESS, this.relay);
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((conn) => conn.close()));
    this.relay.close();
    this.unlisten();
  }
}

export function makeKeys(...names: string[]): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const name of names) keys[name] = generateKey();
  return keys;
}

export const text = new TextDecoder();
export const decode = (bytes: Uint8Array): string => text.decode(bytes);

/** Deterministic pseudo-random bytes (not for crypto): content that does not compress. */
export function noiseBytes(length: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const value = Math.floor(random() * 4294967296);
    out[i] = value & 0xff;
    if (i + 1 < length) out[i + 1] = (value >>> 8) & 0xff;
    if (i + 2 < length) out[i + 2] = (value >>> 16) & 0xff;
    if (i + 3 < length) out[i + 3] = (value >>> 24) & 0xff;
  }
  return out;
}

/**
 * Time limit for a whole suite whose relays and peers keep timers running: a regression that leaves a
 * promise pending then fails the suite instead of hanging the run. Each suite needs a few seconds.
 */
export const TEST_TIMEOUT = { timeout: 60_000 };
