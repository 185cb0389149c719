// Messages drawn moving along the links they took. Each of this tab's requests, once answered, is
// drawn as a dot going out along its route (routes.ts: up the cluster's tree and down to the member, or
// straight over a direct link) and coming back as the reply, which retraces it; a file going through a
// tunnel is drawn one way, a dot per piece, along the tunnel's route (relays or direct). Only this
// tab's own traffic is drawn: relays count frames, not which link each took, so nobody else's path is
// known.
//
// A few journeys at a time; with more, the newest wait their turn or are skipped (the counts on the
// page stay exact; only the picture thins out). With reduced motion, the route lights up, still.

import { svg } from "../dom.ts";
import { journeyPath } from "./paths.ts";
import type { Route } from "./routes.ts";
import type { TopologyView } from "./view.ts";

const MAX_ACTIVE = 14;
const MS_PER_HOP = 240;

interface Journey {
  path: SVGPathElement;
  dot: SVGCircleElement | null;
  length: number;
  started: number;
  duration: number;
  oneWay: boolean;
}

export class Traffic {
  private readonly active = new Set<Journey>();
  private frame: number | null = null;
  private drawn = 0;
  private skipped = 0;
  /** The last route drawn, for the end-to-end test and the console. */
  lastRoute: Route | null = null;

  constructor(
    private readonly view: TopologyView,
    private readonly reducedMotion: () => boolean = () => matchMedia("(prefers-reduced-motion: reduce)").matches,
  ) {}

  get counts(): { drawn: number; skipped: number } {
    return { drawn: this.drawn, skipped: this.skipped };
  }

  /** Draws one journey along `route`: out and back (a request and its reply), or only out. */
  show(route: Route, oneWay = false): void {
    const layout = this.view.layout;
    if (!layout) return;
    if (this.active.size >= MAX_ACTIVE) {
      this.skipped++;
      return;
    }
    const there = route.hops;
    const roundTrip = oneWay ? there : [...there, ...there.slice(0, -1).reverse()];
    const d = journeyPath(layout, roundTrip);
    if (d === null) return;
    const layer = this.view.trafficLayer;
    const reduced = this.reducedMotion();
    // The route lights up for a journey on its own (or with reduced motion, where it is all there is);
    // with many at once the dots alone show the way, and the links under them stay readable.
    const lit = reduced || this.active.size === 0;
    const path = svg("path", {
      class: `journey journey-${route.kind}${route.approximate ? " approximate" : ""}${lit ? " lit" : ""}`,
      d,
      "data-journey": route.kind,
      "data-hops": there.join(" "),
    });
    layer.append(path);
    this.drawn++;
    this.lastRoute = route;
    layer.dataset.drawn = String(this.drawn);
    const dot = reduced ? null : svg("circle", { class: "message outbound", r: 5.5 });
    if (dot) layer.append(dot);
    const duration = Math.min(2400, Math.max(700, (roundTrip.length - 1) * MS_PER_HOP));
    this.active.add({ path, dot, length: path.getTotalLength(), started: performance.now(), duration, oneWay });
    if (this.frame === null) this.frame = requestAnimationFrame((now) => this.tick(now));
  }

  private tick(now: number): void {
    for (const journey of this.active) {
      const progress = (now - journey.started) / journey.duration;
      if (progress >= 1) {
        journey.path.remove();
        journey.dot?.remove();
        this.active.delete(journey);
        continue;
      }
      if (!journey.dot) continue;
      const point = journey.path.getPointAtLength(progress * journey.length);
      journey.dot.setAttribute("cx", String(point.x));
      journey.dot.setAttribute("cy", String(point.y));
      // Halfway, the request has reached its member: from there on it is the reply.
      if (progress >= 0.5 && !journey.oneWay) journey.dot.setAttribute("class", "message reply");
    }
    this.frame = this.active.size > 0 ? requestAnimationFrame((next) => this.tick(next)) : null;
  }
}
