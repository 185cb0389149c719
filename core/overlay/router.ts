// The router moves service traffic through the overlay. For every cluster and topic id there is a tree
// (tree.ts) rooted at the relay closest to the id; a routed frame climbs toward that root until it is
// descending, then goes down the tree, choosing at each relay between local members and child subtrees
// in proportion to their weight. A request that finds nothing below a relay goes back the way it came
// and the relay above tries elsewhere: a depth-first search of the tree, which is also how requests
// survive a relay or member dying on the way (the relay next to the failure places them again, once).
//
// Replies and tunnel frames retrace the paths recorded in paths.ts. Broadcasts and publishes climb to
// the root and flood down the tree, so each sender's messages always take the same path (FIFO).

import { fromHex, toHex, utf8 } from "../bytes.ts";
import { every } from "../clock.ts";
import type { Clock } from "../clock.ts";
import {
  FrameType,
  REQUEST_FLAGS_OFFSET,
  REQUEST_RETRIED,
  ROUTE_BACK,
  ROUTE_DOWN,
  ROUTE_FLAGS_OFFSET,
  ReplyStatus,
  TUNNEL_TO_MEMBER,
  TunnelCloseCode,
  encodeFrame,
} from "../wire/frames.ts";
import type {
  BroadcastFrame,
  PublishFrame,
  ReplyFrame,
  RequestFrame,
  TreeUpdateFrame,
  TunnelAcceptFrame,
  TunnelOpenFrame,
  TunnelPathFrame,
} from "../wire/frames.ts";
import { spendHop } from "./hop-budget.ts";
import type { Hop } from "./hop.ts";
import { ServiceTable } from "./membership.ts";
import { Parking } from "./parking.ts";
import { PendingRequests, TunnelPaths, pathKey } from "./paths.ts";
import type { PendingRequest, TunnelPath } from "./paths.ts";
import type { PeerSession } from "./peer-session.ts";
import type { RelayLink } from "./relay-link.ts";
import { keyOfService } from "./routing-table.ts";
import { Trees, aggregateOf, memberWeight, pickWeighted } from "./tree.ts";
import type { Aggregate, TreeState } from "./tree.ts";

export interface RouterHost {
  clock: Clock;
  random: () => number;
  /** The linked relay closest to a key, or null when this relay is the closest. */
  nextHop(key: Uint8Array): RelayLink | null;
  /** The current session of a local peer, which may have reconnected since a request passed. */
  peer(hex: string): PeerSession | undefined;
  log(event: string, fields: Record<string, string | number | boolean>): void;
}

export interface RouterOptions {
  startupGraceMs: number;
}

/** A relay keeps an expired request this long past its deadline, to route a late reply. */
const PENDING_GRACE_MS = 1000;
/** A tunnel open carries no timeout of its own; parked, it waits at most this long. */
const TUNNEL_PARK_MS = 10_000;
const PARKING_CAPACITY = 10_000;
/** After relay links change, how long memberless work may wait for the trees to be rebuilt. */
const SETTLE_MS = 3000;
/** Weight-only changes go up the tree at most this often; counts go at once. */
const WEIGHT_REPORT_MS = 200;
/** Every tree re-announces itself this often, repairing anything a race may have lost. */
const TREE_REFRESH_MS = 10_000;
const NO_MEMBERS = "no members in this cluster";

type Step = { to: Hop; down: boolean } | { back: Hop } | { none: true };

/** Where a request or tunnel open stands in its search for a member. */
interface Route {
  mode: "up" | "down";
  above: Hop | null;
  readonly tried: Set<Hop>;
}

/** Sets a routed frame's direction flags in place (the retried flag is kept). */
function setRouteFlags(bytes: Uint8Array, direction: number): void {
  bytes[ROUTE_FLAGS_OFFSET] = (bytes[ROUTE_FLAGS_OFFSET]! & ~(ROUTE_DOWN | ROUTE_BACK)) | direction;
}

export class Router {
  readonly services: ServiceTable<PeerSession>;
  readonly trees = new Trees<RelayLink>();
  readonly pending = new PendingRequests<Hop>();
  readonly tunnels = new TunnelPaths<Hop>();
  readonly parking: Parking;
  private readonly dirty = new Set<string>();
  private flushTimer: ReturnType<Clock["setTimeout"]> | null = null;
  private readonly stopRefresh: () => void;
  private stopped = false;

  constructor(
    private readonly host: RouterHost,
    options: RouterOptions,
  ) {
    this.services = new ServiceTable(host.random);
    this.parking = new Parking(host.clock.now() + options.startupGraceMs, PARKING_CAPACITY);
    this.stopRefresh = every(host.clock, TREE_REFRESH_MS, () => this.refreshAll(true));
  }

  stop(): void {
    this.stopped = true;
    this.stopRefresh();
    if (this.flushTimer !== null) this.host.clock.clearTimeout(this.flushTimer);
  }

  // Local membership, as peers join and leave.

  addMember(id: Uint8Array, session: PeerSession): void {
    const idHex = toHex(id);
    this.services.addMember(idHex, session);
    this.refresh(this.trees.ensure(idHex, id));
    this.parking.release(idHex);
  }

  removeMember(idHex: string, session: PeerSession): void {
    if (!this.services.removeMember(idHex, session)) return;
    const tree = this.trees.get(idHex);
    if (tree) this.refresh(tree);
  }

  addSubscriber(id: Uint8Array, session: PeerSession): void {
    const idHex = toHex(id);
    this.services.addSubscriber(idHex, session);
    this.refresh(this.trees.ensure(idHex, id));
  }

  removeSubscriber(idHex: string, session: PeerSession): void {
    if (!this.services.removeSubscriber(idHex, session)) return;
    const tree = this.trees.get(idHex);
    if (tree) this.refresh(tree);
  }

  reportLoad(id: Uint8Array, session: PeerSession, load: number): void {
    const idHex = toHex(id);
    this.services.reportLoad(idHex, session, load);
    this.markDirty(idHex);
  }

  // Requests and replies.

  request(from: Hop, bytes: Uint8Array, frame: RequestFrame): void {
    const key = pathKey(toHex(frame.origin), frame.reqId);
    const flags = frame.flags;
    const existing = this.pending.get(key);
    if (existing) {
      if (from === existing.to && (flags & ROUTE_BACK) !== 0) {
        // Sent back: nothing below `from` could take it. Try elsewhere from here.
        existing.frame = bytes;
        existing.tried.add(from);
        return this.placeRequest(existing);
      }
      if (from === existing.to && (flags & ROUTE_DOWN) !== 0 && existing.mode === "up") {
        // It climbed to the root and the root chose a branch below us: go down from here.
        existing.frame = bytes;
        existing.mode = "down";
        existing.above = from;
        return this.placeRequest(existing);
      }
      // The same frame again from the same hop is a plain duplicate: the first is on its way.
      if (from === existing.from) return;
      // A copy by another path: the caller sent it again after moving. Replies take the newest path,
      // and the copy follows the first one down, where the member answers duplicates only once.
      this.pending.rebase(existing, from);
      if (!spendHop(bytes)) return;
      if (existing.to.gone || existing.to === from) {
        existing.frame = bytes;
        return this.placeRequest(existing);
      }
      setRouteFlags(bytes, existing.mode === "down" || existing.to.kind === "peer" ? ROUTE_DOWN : 0);
      existing.to.send(bytes);
      return;
    }
    if (!spendHop(bytes)) return this.replyTo(from, frame.origin, frame.reqId, ReplyStatus.NoMembers, "hop limit reached");
    const entry: PendingRequest<Hop> = {
      key,
      clusterId: toHex(frame.id),
      callerHex: toHex(frame.origin),
      origin: frame.origin,
      reqId: frame.reqId,
      frame: bytes,
      from,
      to: from,
      mode: (flags & (ROUTE_DOWN | ROUTE_BACK)) !== 0 ? "down" : "up",
      above: (flags & ROUTE_DOWN) !== 0 ? from : null,
      tried: (flags & ROUTE_BACK) !== 0 ? new Set([from]) : new Set(),
      retried: (flags & REQUEST_RETRIED) !== 0,
      deadline: this.host.clock.now() + frame.timeoutMs + PENDING_GRACE_MS,
    };
    this.pending.add(entry);
    this.placeRequest(entry);
  }

  private placeRequest(entry: PendingRequest<Hop>): void {
    for (;;) {
      const step = this.step(entry.clusterId, entry);
      if ("to" in step) {
        const hop = step.to;
        setRouteFlags(entry.frame, step.down ? ROUTE_DOWN : 0);
        entry.mode = step.down ? "down" : "up";
        this.pending.redirect(entry, hop);
        if (hop.kind === "peer") this.services.trackOutstanding(entry.clusterId, hop as PeerSession, 1);
        if (hop.send(entry.frame)) return;
        if (hop.kind === "peer") this.services.trackOutstanding(entry.clusterId, hop as PeerSession, -1);
        entry.tried.add(hop); // its queue is full: try another way
        continue;
      }
      if ("back" in step) {
        // Back up to the relay that sent it down. If that is also where it came from, this relay is
        // not on the way back to the caller and can forget it; otherwise the reply will come through.
        setRouteFlags(entry.frame, ROUTE_BACK);
        if (step.back === entry.from) this.pending.delete(entry);
        else {
          this.pending.redirect(entry, step.back);
          entry.mode = "up";
        }
        step.back.send(entry.frame);
        return;
      }
      this.pending.delete(entry);
      const parked = this.park(entry.clusterId, entry.deadline - PENDING_GRACE_MS, () => {
        this.pending.add(entry);
        this.placeRequest(entry);
      }, () => this.answer(entry, ReplyStatus.NoMembers, NO_MEMBERS));
      if (parked) return;
      if (entry.retried) this.answer(entry, ReplyStatus.MemberLost, "member left before replying");
      else this.answer(entry, ReplyStatus.NoMembers, NO_MEMBERS);
      return;
    }
  }

  reply(from: Hop, bytes: Uint8Array, frame: ReplyFrame): void {
    const entry = this.pending.get(pathKey(toHex(frame.origin), frame.reqId));
    // A late reply (the request expired) or one from a hop that was never asked: drop it.
    if (!entry || entry.to !== from) return;
    if (from.kind === "peer") this.services.trackOutstanding(entry.clusterId, from as PeerSession, -1);
    // A member that left the cluster while the request was on its way: another member can still take it.
    if (frame.status === ReplyStatus.MemberLost && from.kind === "peer" && !entry.retried) return this.retry(entry, from);
    this.pending.delete(entry);
    this.towardCaller(entry.from, entry.callerHex)?.send(bytes);
  }

  /** The hop a request went to failed: place it again from here, once per request. */
  private retry(entry: PendingRequest<Hop>, failed: Hop): void {
    if (entry.retried) {
      this.pending.delete(entry);
      this.answer(entry, ReplyStatus.MemberLost, "member left before replying");
      return;
    }
    entry.retried = true;
    entry.frame[REQUEST_FLAGS_OFFSET]! |= REQUEST_RETRIED;
    entry.tried.add(failed);
    this.placeRequest(entry);
  }

  private answer(entry: PendingRequest<Hop>, status: ReplyStatus, message: string): void {
    this.replyTo(this.towardCaller(entry.from, entry.callerHex), entry.origin, entry.reqId, status, message);
  }

  private replyTo(hop: Hop | undefined, origin: Uint8Array, reqId: number, status: ReplyStatus, message: string): void {
    hop?.send(encodeFrame({ type: FrameType.Reply, status, origin, reqId, body: utf8(message) }));
  }

  // Broadcasts and publishes: up to the root, then down every branch.

  multicast(from: Hop, bytes: Uint8Array, frame: BroadcastFrame | PublishFrame): void {
    if (!spendHop(bytes)) return;
    const idHex = toHex(frame.id);
    const parent = this.host.nextHop(keyOfService(frame.id));
    if (parent && from !== parent) {
      parent.send(bytes);
      return;
    }
    const locals = frame.type === FrameType.Broadcast ? this.services.membersOf(idHex) : this.services.subscribersOf(idHex);
    for (const session of locals) session.send(bytes);
    const tree = this.trees.get(idHex);
    if (!tree) return;
    // Every child, the one it came up from included: nothing is delivered on the way up.
    for (const [child, aggregate] of tree.children) if (aggregate.count > 0) child.send(bytes);
  }

  // Tunnels: opened like a request, then every frame retraces the path.

  tunnelOpen(from: Hop, bytes: Uint8Array, frame: TunnelOpenFrame): void {
    const key = pathKey(toHex(frame.origin), frame.tunnelId);
    const flags = frame.flags;
    const existing = this.tunnels.get(key);
    if (existing) {
      if (existing.accepted || from !== existing.towardMember) return; // a duplicate open
      existing.openFrame = bytes;
      if ((flags & ROUTE_BACK) !== 0) existing.tried.add(from);
      else if ((flags & ROUTE_DOWN) !== 0 && existing.mode === "up") {
        existing.mode = "down";
        existing.above = from;
      } else return;
      return this.placeTunnel(existing);
    }
    if (!spendHop(bytes)) return this.closeToward(from, frame.origin, frame.tunnelId, false, TunnelCloseCode.NoMembers, "hop limit reached");
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
    this.tunnels.add(path);
    this.placeTunnel(path);
  }

  private placeTunnel(path: TunnelPath<Hop>): void {
    const open = path.openFrame!;
    for (;;) {
      const step = this.step(path.clusterId, path);
      if ("to" in step) {
        setRouteFlags(open, step.down ? ROUTE_DOWN : 0);
        path.mode = step.down ? "down" : "up";
        this.tunnels.redirect(path, step.to);
        if (step.to.send(open)) return;
        path.tried.add(step.to);
        continue;
      }
      if ("back" in step) {
        setRouteFlags(open, ROUTE_BACK);
        if (step.back === path.towardCaller) this.tunnels.delete(path);
        else {
          this.tunnels.redirect(path, step.back);
          path.mode = "up";
        }
        step.back.send(open);
        return;
      }
      this.tunnels.delete(path);
      const parked = this.park(path.clusterId, this.host.clock.now() + TUNNEL_PARK_MS, () => {
        this.tunnels.add(path);
        this.placeTunnel(path);
      }, () => this.closeToward(path.towardCaller, path.origin, path.tunnelId, false, TunnelCloseCode.NoMembers, NO_MEMBERS));
      if (!parked) this.closeToward(path.towardCaller, path.origin, path.tunnelId, false, TunnelCloseCode.NoMembers, NO_MEMBERS);
      return;
    }
  }

  tunnelAccept(from: Hop, bytes: Uint8Array, frame: TunnelAcceptFrame): void {
    const path = this.tunnels.get(pathKey(toHex(frame.origin), frame.tunnelId));
    if (!path || path.towardMember !== from || path.accepted) return;
    path.accepted = true;
    path.openFrame = null;
    this.towardCaller(path.towardCaller, path.callerHex)?.send(bytes);
  }

  tunnelPath(from: Hop, bytes: Uint8Array, frame: TunnelPathFrame): void {
    const path = this.tunnels.get(pathKey(toHex(frame.origin), frame.tunnelId));
    const toMember = (frame.flags & TUNNEL_TO_MEMBER) !== 0;
    // Each end may only speak for its own side of its own tunnels.
    if (!path || (toMember ? path.towardCaller !== from : path.towardMember !== from)) return;
    if (frame.type === FrameType.TunnelClose) {
      if (toMember) path.closedToMember = true;
      else path.closedToCaller = true;
      if (frame.code !== TunnelCloseCode.Normal || (path.closedToMember && path.closedToCaller)) this.tunnels.delete(path);
    }
    const next = toMember ? path.towardMember : this.towardCaller(path.towardCaller, path.callerHex);
    if (next?.send(bytes)) return;
    if (this.tunnels.get(path.key)) {
      this.tunnels.delete(path);
      this.closeToward(from, path.origin, path.tunnelId, !toMember, TunnelCloseCode.LinkLost, "the other end is gone");
    }
  }

  private closeToward(hop: Hop | undefined, origin: Uint8Array, tunnelId: number, toMember: boolean, code: TunnelCloseCode, reason: string): void {
    hop?.send(
      encodeFrame({ type: FrameType.TunnelClose, flags: toMember ? TUNNEL_TO_MEMBER : 0, origin, tunnelId, code, sent: 0, reason }),
    );
  }

  // Trees.

  treeUpdate(child: RelayLink, frame: TreeUpdateFrame): void {
    const idHex = toHex(frame.id);
    const tree = this.trees.ensure(idHex, frame.id);
    if (frame.count > 0) tree.children.set(child, { count: frame.count, weight: frame.weight });
    else tree.children.delete(child);
    this.refresh(tree);
    if (frame.count > 0) this.parking.release(idHex);
  }

  /** Relay links changed: trees may have a new parent (or become roots, or stop being roots). */
  routingChanged(): void {
    // Trees are rebuilt around the change over the next moments: work that finds no member meanwhile
    // waits a little for the updates rather than failing.
    this.parking.extend(this.host.clock.now() + SETTLE_MS);
    this.refreshAll(false);
  }

  /** A peer or relay is gone: forget what it held, and save what was on its way through it. */
  hopGone(hop: Hop): void {
    // A relay shutting down loses every link at once; placing work again through the links that are
    // still closing would only send stale copies around.
    if (this.stopped) return;
    if (hop.kind === "peer") {
      const session = hop as PeerSession;
      for (const id of session.clusters) this.removeMember(id, session);
      for (const id of session.topics) this.removeSubscriber(id, session);
    } else {
      const link = hop as RelayLink;
      // Trees are about to be rebuilt around the loss: what cannot be placed meanwhile may wait.
      this.parking.extend(this.host.clock.now() + SETTLE_MS);
      for (const tree of this.trees.involving(link)) {
        tree.children.delete(link);
        if (tree.parent === link) tree.parent = null;
      }
      this.refreshAll(false);
      // Requests that came through this relay have no way back; their callers retry on their own.
      for (const entry of this.pending.cameFrom(link)) this.pending.delete(entry);
    }
    for (const entry of this.pending.sentTo(hop)) this.retry(entry, hop);
    this.tunnelsGone(hop);
  }

  private tunnelsGone(hop: Hop): void {
    const reason = "the other end of the tunnel lost its link";
    for (const path of this.tunnels.involving(hop)) {
      if (!this.tunnels.get(path.key)) continue;
      this.tunnels.delete(path);
      if (path.towardMember === hop && !path.accepted && path.towardCaller !== hop) {
        // Not accepted yet: the open can still find another member.
        path.tried.add(hop);
        this.tunnels.add(path);
        this.placeTunnel(path);
        continue;
      }
      if (path.towardMember !== hop) this.closeToward(path.towardMember, path.origin, path.tunnelId, true, TunnelCloseCode.LinkLost, reason);
      if (path.towardCaller !== hop) {
        const caller = this.towardCaller(path.towardCaller, path.callerHex);
        this.closeToward(caller, path.origin, path.tunnelId, false, TunnelCloseCode.LinkLost, reason);
      }
    }
  }

  /** Requests handed to local members and not answered yet: what a draining relay waits for. */
  pendingAtLocalMembers(): number {
    let count = 0;
    for (const entry of this.pending.all()) if (entry.to.kind === "peer") count++;
    return count;
  }

  /** Periodic work: forget expired requests and parked work. */
  sweep(now: number): void {
    for (const entry of this.pending.expire(now)) {
      if (entry.to.kind === "peer") this.services.trackOutstanding(entry.clusterId, entry.to as PeerSession, -1);
    }
    this.parking.expire(now);
  }

  /**
   * The next step of a request or tunnel open for `idHex`. Climbing, it goes up toward the root (the
   * relay closest to the id), and once here is the root it turns down. Going down, it goes to a local
   * member or a child subtree picked by weight, never one already tried; with nothing left below, back
   * to the relay above that sent it down, or nowhere at all at the root.
   */
  private step(idHex: string, route: Route): Step {
    const tree = this.trees.get(idHex);
    if (route.mode === "up") {
      const parent = this.host.nextHop(keyOfService(tree?.idBytes ?? fromHex(idHex)));
      if (parent && !route.tried.has(parent)) return { to: parent, down: false };
      route.mode = "down"; // this is the root, or the way up failed
    }
    // Local members weigh in as one group, by what they report, like child subtrees do: mixing the
    // relay's own up-to-the-moment counts with children's reported ones would starve whichever side
    // looked busier. Within the group, the power of two choices uses the relay's own counts too.
    const local = this.localWeight(idHex, route.tried);
    const children = new Map<RelayLink, Aggregate>();
    if (tree) for (const [child, aggregate] of tree.children) if (!route.tried.has(child) && !child.gone) children.set(child, aggregate);
    const pick = pickWeighted(local > 0 ? [{ weight: local }] : [], children, null, this.host.random);
    if (pick && "child" in pick) return { to: pick.child, down: true };
    if (pick) {
      const member = this.services.pickMember(idHex, (session) => route.tried.has(session));
      if (member) return { to: member, down: true };
    }
    if (route.above && !route.above.gone && !route.tried.has(route.above)) return { back: route.above };
    return { none: true };
  }

  private park(clusterId: string, deadline: number, resume: () => void, expire: () => void): boolean {
    return this.parking.park({ clusterId, deadline, resume, expire }, this.host.clock.now());
  }

  /** A hop toward a caller, following the caller's reconnection when it is a local peer. */
  private towardCaller(hop: Hop, callerHex: string): Hop | undefined {
    if (hop.kind === "peer" && hop.gone) return this.host.peer(callerHex);
    return hop;
  }

  private markDirty(idHex: string): void {
    this.dirty.add(idHex);
    if (this.flushTimer !== null) return;
    this.flushTimer = this.host.clock.setTimeout(() => {
      this.flushTimer = null;
      const ids = [...this.dirty];
      this.dirty.clear();
      for (const id of ids) {
        const tree = this.trees.get(id);
        if (tree) this.refresh(tree, true);
      }
    }, WEIGHT_REPORT_MS);
  }

  private refreshAll(force: boolean): void {
    for (const tree of [...this.trees.all()]) this.refresh(tree, force, force);
  }

  /** Recomputes a tree's aggregate and tells the parent what changed (and an old parent that it left). */
  private refresh(tree: TreeState<RelayLink>, weightToo = false, resend = false): void {
    const local = this.localAggregate(tree.id);
    const aggregate = aggregateOf(tree, local);
    const parent = this.host.nextHop(keyOfService(tree.idBytes));
    if (parent !== tree.parent) {
      if (tree.parent && !tree.parent.gone && tree.reported.count > 0) this.sendTree(tree.parent, tree, { count: 0, weight: 0 });
      tree.parent = parent;
      tree.reported = { count: 0, weight: 0 };
    }
    if (parent) {
      const countChanged = aggregate.count !== tree.reported.count;
      const weightChanged = aggregate.weight !== tree.reported.weight;
      if (countChanged || resend || (weightChanged && weightToo)) {
        if (aggregate.count > 0 || tree.reported.count > 0) this.sendTree(parent, tree, aggregate);
        tree.reported = aggregate;
      } else if (weightChanged) {
        this.markDirty(tree.id);
      }
    } else {
      tree.reported = aggregate;
    }
    if (aggregate.count === 0 && tree.children.size === 0) {
      tree.reported = { count: 0, weight: 0 };
      this.trees.prune(tree, 0);
    }
  }

  private sendTree(link: RelayLink, tree: TreeState<RelayLink>, aggregate: Aggregate): void {
    link.send(encodeFrame({ type: FrameType.TreeUpdate, id: tree.idBytes, count: aggregate.count, weight: aggregate.weight }));
  }

  /** The weight of local members not yet tried, by their reported load. */
  private localWeight(idHex: string, tried: Set<Hop>): number {
    let weight = 0;
    for (const session of this.services.membersOf(idHex)) {
      if (!tried.has(session)) weight += memberWeight(this.services.loadOf(idHex, session)!.reported);
    }
    return weight;
  }

  private localAggregate(idHex: string): Aggregate {
    let count = 0;
    let weight = 0;
    for (const session of this.services.membersOf(idHex)) {
      count++;
      weight += memberWeight(this.services.loadOf(idHex, session)!.reported);
    }
    count += this.services.subscriberCount(idHex);
    return { count, weight };
  }
}

