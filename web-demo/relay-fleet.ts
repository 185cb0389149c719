// The demo's backbone: a few relay processes (relay-process.ts) on one host. The first starts alone,
// the others are seeded with it and link up through it, so the overlay forms as it would across
// machines. A relay started again later is seeded with every relay that is up then, so it rejoins
// whichever of them survived.

import { RelayProcess } from "./relay-process.ts";
import type { RelayStatus, StopMode } from "./relay-process.ts";

export interface RelayFleetOptions {
  host: string;
  /** One per relay; 0 picks a free port (kept across restarts). */
  ports: number[];
  logLevel: "info" | "debug";
  env: Record<string, string | undefined>;
  /** A line a relay printed, with its 1-based index. */
  onLine?: (index: number, line: string, stream: "stdout" | "stderr") => void;
  onChange?: (status: RelayStatus) => void;
}

export class RelayFleet {
  readonly relays: RelayProcess[];
  /** Set by stop(): a start still under way goes no further, and no relay starts again. */
  private closed = false;

  constructor(options: RelayFleetOptions) {
    this.relays = options.ports.map(
      (port, i) =>
        new RelayProcess({
          index: i + 1,
          host: options.host,
          port,
          logLevel: options.logLevel,
          env: options.env,
          onLine: (line, stream) => options.onLine?.(i + 1, line, stream),
          onChange: options.onChange,
        }),
    );
  }

  /** Starts every relay in order; on failure stops those already running and rethrows. */
  async start(): Promise<void> {
    try {
      for (const relay of this.relays) {
        if (this.closed) throw new Error("the relays were stopped while starting");
        await relay.start(this.seedsFor(relay));
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Addresses in relay order; a relay not started yet has none. */
  get urls(): string[] {
    return this.relays.map((relay) => relay.status().url).filter((url): url is string => url !== null);
  }

  statuses(): RelayStatus[] {
    return this.relays.map((relay) => relay.status());
  }

  /** The relay with this 1-based index, or null. */
  relay(index: number): RelayProcess | null {
    return this.relays[index - 1] ?? null;
  }

  async stopOne(index: number, mode: StopMode): Promise<void> {
    await this.relay(index)?.stop(mode);
  }

  async restart(index: number): Promise<void> {
    const relay = this.relay(index);
    if (!relay) throw new RangeError(`no relay ${index}`);
    if (this.closed) throw new Error("the stack is stopping");
    await relay.start(this.seedsFor(relay));
  }

  /** Kills every relay at once: by now the demo's peers are gone, so there is nobody to hand over. */
  async stop(): Promise<void> {
    this.closed = true;
    await Promise.all(this.relays.map((relay) => relay.stop("kill")));
  }

  private seedsFor(relay: RelayProcess): string[] {
    const up = this.relays.filter((other) => other !== relay && other.status().state === "up");
    // At first start only the first relay seeds the others, as the README's network example does.
    const first = up[0];
    if (relay.status().starts === 0) return first && first === this.relays[0] ? [first.status().url!] : [];
    return up.map((other) => other.status().url!);
  }
}
