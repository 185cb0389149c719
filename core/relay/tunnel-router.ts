// Tunnels through the overlay: an open searches for a member like a request does (member-search.ts),
// and every later frame retraces the path it took. Apart from router.ts because a tunnel's path lives
// until either end closes it, with its own rules for duplicates, half-closes and lost links.

import { toHex } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import { FrameType, ROUTE_BACK, ROUTE_DOWN, TUNNEL_TO_MEMBER, TunnelCloseCode, encodeFrame } from "../wire/frames.ts";
import type { TunnelAcceptFrame, TunnelOpenFrame, TunnelPathFrame } from "../wire/frames.ts";
import { spendHop } from "./hop-budget.ts";
import type { Hop } from "./hop.ts";
import { NO_MEMBERS, setRouteFlags } from "./member-search.ts";
import type { MemberSearch } from "./member-search.ts";
import { TunnelPaths, pathKey } from "./paths.ts";
import type { TunnelPath } from "./paths.ts";

/** A tunnel open carries no timeout of its own; parked, it waits at most this long. */
const TUNNEL_PARK_MS = 10_000;

export interface TunnelRouterHost {
  clock: Clock;
  search: MemberSearch;
  /** Holds work that found no member while the trees may still be filling in; false when it cannot wait. */
  park(clusterId: string, deadline: number, resume: () => void, expire: () => void): boolean;
  /** A hop toward a caller, following the caller's reconnection when it is a local peer. */
  towardCaller(hop: Hop, callerHex: string): Hop | undefined;
}

export class TunnelRouter {
  readonly paths = new TunnelPaths<Hop>();

  constructor(private readonly host: TunnelRouterHost) {}

  open(from: Hop, bytes: Uint8Array, frame: TunnelOpenFrame): void {
    const key = pathKey(toHex(frame.origin), frame.tunnelId);
    const flags = frame.flags;
    const existing = this.paths.get(key);
    if (existing) {
      if (existing.accepted || from !== existing.towardMember) return; // a duplicate open
      existing.openFrame = bytes;
      if ((flags & ROUTE_BACK) !== 0) existing.tried.add(from);
      else if ((flags & ROUTE_DOWN) !== 0 && existing.mode === "up") {
        existing.mode = "down";
        existing.above = from;
      } else return;
      return this.place(existing);
    }
    if (!spendHop(bytes))
      return this.closeToward(
        from,
        frame.origin,
        frame.tunnelId,
        false,
        TunnelCloseCode.NoMembers,
        "hop limit reached",
      );
    const path: TunnelPath<Hop> = {
      key,
      clusterId: toHex(frame.id),
      callerHex: toHex(frame.origin),
      origin: frame.origin,
      tunnelId: frame.tunnelId,
      openFrame: bytes,
      towardCaller: from,
      towardMember: from,
      mode: (flags & (ROUTE_DOWN | ROUTE_BACK)) !== 0 ? "down" : "up",
      above: (flags & ROUTE_DOWN) !== 0 ? from : null,
      tried: (flags & ROUTE_BACK) !== 0 ? new Set([from]) : new Set(),
      accepted: false,
      closedToMember: false,
      closedToCaller: false,
    };
    this.paths.add(path);
    this.place(path);
  }

  private place(path: TunnelPath<Hop>): void {
    const open = path.openFrame!;
    for (;;) {
      const step = this.host.search.step(path.clusterId, path);
      if ("to" in step) {
        setRouteFlags(open, step.down ? ROUTE_DOWN : 0);
        path.mode = step.down ? "down" : "up";
        this.paths.redirect(path, step.to);
        if (step.to.send(open)) return;
        path.tried.add(step.to);
        continue;
      }
      if ("back" in step) {
        setRouteFlags(open, ROUTE_BACK);
        if (step.back === path.towardCaller) this.paths.delete(path);
        else {
          this.paths.redirect(path, step.back);
          path.mode = "up";
        }
        step.back.send(open);
        return;
      }
      this.paths.delete(path);
      const parked = this.host.park(
        path.clusterId,
        this.host.clock.now() + TUNNEL_PARK_MS,
        () => {
          this.paths.add(path);
          this.place(path);
        },
        () =>
          this.closeToward(path.towardCaller, path.origin, path.tunnelId, false, TunnelCloseCode.NoMembers, NO_MEMBERS),
      );
      if (!parked)
        this.closeToward(path.towardCaller, path.origin, path.tunnelId, false, TunnelCloseCode.NoMembers, NO_MEMBERS);
      return;
    }
  }

  accept(from: Hop, bytes: Uint8Array, frame: TunnelAcceptFrame): void {
    const path = this.paths.get(pathKey(toHex(frame.origin), frame.tunnelId));
    if (!path || path.towardMember !== from || path.accepted) return;
    path.accepted = true;
    path.openFrame = null;
    this.host.towardCaller(path.towardCaller, path.callerHex)?.send(bytes);
  }

  /** Data, credit and close: forwarded along the path, each in the direction its flag names. */
  forward(from: Hop, bytes: Uint8Array, frame: TunnelPathFrame): void {
    const path = this.paths.get(pathKey(toHex(frame.origin), frame.tunnelId));
    const toMember = (frame.flags & TUNNEL_TO_MEMBER) !== 0;
    // Each end may only speak for its own side of its own tunnels.
    if (!path || (toMember ? path.towardCaller !== from : path.towardMember !== from)) return;
    if (frame.type === FrameType.TunnelClose) {
      if (toMember) path.closedToMember = true;
      else path.closedToCaller = true;
      if (frame.code !== TunnelCloseCode.Normal || (path.closedToMember && path.closedToCaller))
        this.paths.delete(path);
    }
    const next = toMember ? path.towardMember : this.host.towardCaller(path.towardCaller, path.callerHex);
    if (next?.send(bytes)) return;
    if (this.paths.get(path.key)) {
      this.paths.delete(path);
      this.closeToward(from, path.origin, path.tunnelId, !toMember, TunnelCloseCode.LinkLost, "the other end is gone");
    }
  }

  /** A peer or relay is gone: opens not yet accepted look elsewhere, and every other tunnel through it ends. */
  hopGone(hop: Hop): void {
    const reason = "the other end of the tunnel lost its link";
    for (const path of this.paths.involving(hop)) {
      if (!this.paths.get(path.key)) continue;
      this.paths.delete(path);
      if (path.towardMember === hop && !path.accepted && path.towardCaller !== hop) {
        // Not accepted yet: the open can still find another member.
        path.tried.add(hop);
        this.paths.add(path);
        this.place(path);
        continue;
      }
      if (path.towardMember !== hop)
        this.closeToward(path.towardMember, path.origin, path.tunnelId, true, TunnelCloseCode.LinkLost, reason);
      if (path.towardCaller !== hop) {
        const caller = this.host.towardCaller(path.towardCaller, path.callerHex);
        this.closeToward(caller, path.origin, path.tunnelId, false, TunnelCloseCode.LinkLost, reason);
      }
    }
  }

  private closeToward(
    hop: Hop | undefined,
    origin: Uint8Array,
    tunnelId: number,
    toMember: boolean,
    code: TunnelCloseCode,
    reason: string,
  ): void {
    hop?.send(
      encodeFrame({
        type: FrameType.TunnelClose,
        flags: toMember ? TUNNEL_TO_MEMBER : 0,
        origin,
        tunnelId,
        code,
        sent: 0,
        reason,
      }),
    );
  }
}
