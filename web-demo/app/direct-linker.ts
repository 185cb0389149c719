// Direct links between tabs that share a cluster or topic, as soon as both are in it, rather than only
// once a tunnel happens to run between them. Core opens a direct WebRTC link for a tunnel between two
// peers; a tunnel to a cluster reaches one of its members, so to reach one tab in particular, every
// tab serves a small cluster of its own, "tab-link.<its peer id>", and another tab that shares a
// service with it opens a tunnel there. The link forms over that tunnel (its signaling is sealed like
// any payload), the tunnel closes, and the link stays in core's cache of direct links.
//
// The tab with the smaller peer id asks, so two tabs never both try at once. The link cluster is the
// page's plumbing: names.ts knows its ids so the page never shows it.

import type { Connection, Tunnel } from "../../core/browser.ts";
import type { Activity } from "./activity.ts";
import type { Names } from "./names.ts";
import type { PeerNames } from "./peer-names.ts";
import { isTab } from "./topology/model.ts";
import type { Topology } from "./topology/model.ts";

const RETRY_MS = 30_000;
/** How long the helper tunnel stays open waiting for the link. */
const LINK_WAIT_MS = 15_000;

export function linkClusterOf(peerId: string): string {
  return `tab-link.${peerId}`;
}

export class DirectLinker {
  private readonly tried = new Map<string, number>();
  private registered = false;

  constructor(
    private readonly conn: Connection,
    private readonly names: Names,
    private readonly peers: PeerNames,
    private readonly activity: Activity,
    /** The keys in this tab's link: a link cluster is served under each, as well as in development mode. */
    private readonly keys: () => Record<string, string>,
    private readonly development: boolean,
  ) {}

  /** Serves this tab's own link cluster; other tabs open their helper tunnels to it. */
  async start(): Promise<void> {
    const name = linkClusterOf(this.conn.peerId);
    const keys = Object.values(this.keys());
    this.names.learnInternal(name, keys);
    // Served under every key of the link, so a tab sharing any of its services can reach it, and
    // under the development key too in development mode.
    if (!this.development) {
      if (!keys[0]) return; // no key at all: nothing could be shared with anyone anyway
      await this.conn.useKey(name, keys[0]);
    }
    await this.conn.register(name, { tunnel: (tunnel) => drain(tunnel) });
    for (const key of this.development ? keys : keys.slice(1)) await this.conn.addKey(name, key);
    this.registered = true;
  }

  /** A key this tab holds for another name (a generated one): serve the link cluster under it too. */
  async addKey(key: string): Promise<void> {
    this.names.learnInternal(linkClusterOf(this.conn.peerId), [key]);
    if (this.registered) await this.conn.addKey(linkClusterOf(this.conn.peerId), key);
  }

  /** Looks at the topology: opens a link to each tab that shares a service with this one. */
  consider(topology: Topology): void {
    const self = topology.peers.find((peer) => peer.self && !peer.stale);
    if (!self || !this.registered) return;
    const direct = new Set(this.conn.directPeers());
    const mine = new Set([...self.clusters, ...self.topics].filter((id) => !this.names.hidden(id)));
    for (const peer of topology.peers) {
      if (peer.self || peer.stale || !isTab(peer)) continue;
      this.names.learnInternal(linkClusterOf(peer.id), Object.values(this.keys()));
      if (direct.has(peer.id) || self.id > peer.id) continue;
      const shared = [...peer.clusters, ...peer.topics].find((id) => mine.has(id));
      if (!shared) continue;
      const last = this.tried.get(peer.id);
      if (last !== undefined && performance.now() - last < RETRY_MS) continue;
      this.tried.set(peer.id, performance.now());
      void this.link(peer.id, shared);
    }
  }

  private async link(peerId: string, sharedId: string): Promise<void> {
    const name = linkClusterOf(peerId);
    const shared = this.names.lookup(sharedId);
    try {
      // Under a private key, use the one of the shared service: the other tab serves under it too.
      if (shared && !shared.development) {
        const key = this.keys()[shared.name];
        if (key) await this.conn.useKey(name, key);
      }
      const tunnel = await this.conn.tunnel(name, { timeout: 10_000 });
      const opened = new Promise<void>((resolve) => {
        if (tunnel.route === "direct") return resolve();
        tunnel.on("route", ({ route }) => route === "direct" && resolve());
        setTimeout(resolve, LINK_WAIT_MS);
      });
      await opened;
      await tunnel.close().catch(() => {});
      if (this.conn.directPeers().includes(peerId)) {
        this.activity.add(
          "info",
          `Opened a direct WebRTC link to ${this.peers.name(peerId)}: the tabs share ${shared ? `"${shared.name}"` : "a service"}.`,
        );
      }
    } catch {
      // The other tab may have gone, or has direct links off: the relay route serves meanwhile.
    }
  }
}

/** The helper tunnel carries nothing of its own: read it to its end. */
async function drain(tunnel: Tunnel): Promise<void> {
  try {
    for await (const _ of tunnel) {
      // nothing to do with it
    }
  } catch {
    // closed by the other side or by a failure: either way, done
  }
}
