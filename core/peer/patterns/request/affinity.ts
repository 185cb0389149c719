// Requests that keep landing on one member move onto a direct link with it. Every reply names the
// member that answered (inside the seal). When nearly all of a caller's recent requests to a cluster
// were answered by the same member, the relays' balancing has, in effect, picked that member; the
// caller then opens a direct link to it (signaling through a tunnel) and sends its requests over the
// link. One request in a few still goes through the relays, so the caller keeps seeing whom the
// balancing would choose, and stops going direct as soon as that is someone else.

import type { DirectRoutes } from "../context.ts";

/** How many recent relay-routed replies decide, and how many of them must name the same member. */
const WINDOW = 32;
const AGREEMENT = 28;
/** While going direct, every SAMPLE_EVERY-th request still goes through the relays. */
const SAMPLE_EVERY = 8;
/** After a signaling attempt, a cluster is left alone this long before another. */
const SIGNALING_BACKOFF_MS = 30_000;

interface ClusterView {
  recent: string[];
  preferred: string | null;
  sent: number;
  lastSignaling: number;
}

export class RequestAffinity {
  private readonly clusters = new Map<string, ClusterView>();

  constructor(
    private readonly direct: Pick<DirectRoutes, "link"> | null,
    private readonly self: string,
    private readonly now: () => number,
    /** Opens a signaling-only tunnel to the cluster, so a direct link to its member can be made. */
    private readonly signal: (cluster: string) => void,
  ) {}

  /** A reply that came through the relays was answered by `member`. */
  answeredBy(cluster: string, member: string): void {
    if (!this.direct) return;
    const view = this.view(cluster);
    view.recent.push(member);
    if (view.recent.length > WINDOW) view.recent.shift();
    const count = view.recent.filter((peer) => peer === member).length;
    if (view.recent.length === WINDOW && count >= AGREEMENT) {
      view.preferred = member;
      if (member !== this.self && !this.direct.link(member) && this.now() - view.lastSignaling > SIGNALING_BACKOFF_MS) {
        view.lastSignaling = this.now();
        this.signal(cluster);
      }
    } else if (view.preferred !== null && view.preferred !== member && count < AGREEMENT / 2) {
      view.preferred = null;
    }
  }

  /** The member to send this request to directly, or null to send it through the relays. */
  route(cluster: string): string | null {
    const view = this.clusters.get(cluster);
    if (!view?.preferred || !this.direct?.link(view.preferred)) return null;
    view.sent++;
    return view.sent % SAMPLE_EVERY === 0 ? null : view.preferred;
  }

  private view(cluster: string): ClusterView {
    let view = this.clusters.get(cluster);
    if (!view) this.clusters.set(cluster, (view = { recent: [], preferred: null, sent: 0, lastSignaling: -Infinity }));
    return view;
  }
}
