// The two ends of a tunnel between pages, with the page's own iris-mesh (the browser entry): a member
// that reads every tunnel opened to it into the page's tally, and a caller that opens a tunnel, waits
// for the route it was asked for (a direct data channel, or the relays), and then sends the bytes, so
// the scenario can time (and meter) the sending alone.

import { connect, onlyAddresses } from "iris-mesh";
import type { Connection, Tunnel } from "iris-mesh";
import { add, arrived, epochNow, fail, message, newTally, sha256Hex } from "./stream-bytes.ts";
import type { Tally } from "./stream-bytes.ts";

const connections = new Map<string, Connection>();
let tally: Tally = newTally();
let sent: Uint8Array[] = [];
let tunnel: Tunnel | null = null;
let routes: string[] = [];

function conn(name: string): Connection {
  const found = connections.get(name);
  if (!found) throw new Error(`no connection named ${name}`);
  return found;
}

function routeBecomes(tunnel: Tunnel, route: string, timeoutMs: number): Promise<boolean> {
  if (tunnel.route === route) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const off = tunnel.on("route", (event) => {
      if (event.route !== route) return;
      clearTimeout(timer);
      off();
      resolve(true);
    });
  });
}

export const streamEnds = {
  /** Connects a peer named `name`; with `direct`, it makes direct links (127.0.0.1 candidates only). */
  async connect(name: string, relay: string, keys: Record<string, string>, direct: boolean): Promise<string> {
    const connection = await connect({
      relays: [relay],
      keys,
      webrtc: direct ? { candidateFilter: onlyAddresses(["127.0.0.1"]) } : false,
    });
    connections.set(name, connection);
    return connection.peerId;
  },

  /** Becomes a member of `cluster` that reads every tunnel into this page's tally (reset first). */
  async serve(name: string, cluster: string): Promise<void> {
    tally = newTally();
    await conn(name).register(cluster, {
      tunnel: async (tunnel) => {
        try {
          for await (const part of tunnel) add(tally, part);
        } catch (error) {
          fail(tally, `${(error as Error).name}: ${(error as Error).message}`);
        }
      },
    });
  },

  /**
   * Opens a tunnel and waits until it is on the `route` asked for: "direct" may take a moment, "relay" is
   * where every tunnel starts. Throws if it does not get there.
   */
  async open(name: string, cluster: string, route: "direct" | "relay"): Promise<string[]> {
    const opened = await conn(name).tunnel(cluster, { timeout: 10_000 });
    routes = [opened.route];
    opened.on("route", (event) => routes.push(event.route));
    if (!(await routeBecomes(opened, route, 15_000)))
      throw new Error(`the tunnel did not move onto the ${route} route (routes: ${routes.join(", ")})`);
    tunnel = opened;
    return routes;
  },

  /** Sends `total` bytes in messages of `size` through the open tunnel, then closes it; the route it took. */
  async sendOn(total: number, size: number): Promise<{ startedAt: number; routes: string[] }> {
    const open = tunnel;
    if (!open) throw new Error("no tunnel open");
    sent = [];
    const startedAt = epochNow();
    for (let index = 0, done = 0; done < total; index++) {
      const part = message(index, Math.min(size, total - done));
      sent.push(part);
      await open.send(part);
      done += part.length;
    }
    await open.close();
    tunnel = null;
    return { startedAt, routes };
  },

  /** Resolves once `total` bytes reached this page's member (or its tunnel failed), without hashing. */
  arrived: (total: number) => arrived(tally, total),

  /** SHA-256 of what this page received, and of what it sent, in order. */
  receivedSha256: () => sha256Hex(tally.parts),
  sentSha256: () => sha256Hex(sent),

  async close(name: string): Promise<void> {
    await connections.get(name)?.close();
    connections.delete(name);
  },
};

/** For the raw channel: the same tally, so one page receives both kinds of stream the same way. */
export function resetTally(): Tally {
  tally = newTally();
  return tally;
}

export function rememberSent(parts: Uint8Array[]): void {
  sent = parts;
}
