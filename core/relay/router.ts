// The router moves service traffic through the overlay. For every cluster and topic id there is a tree
// (tree.ts) rooted at the relay closest to the id; a routed frame climbs toward that root until it is
// descending, then goes down the tree, choosing at each relay between local members and child subtrees
// in proportion to their weight. A request that finds nothing below a relay goes back the way it came
// and the relay above tries elsewhere: a depth-first search of the tree, which is also how requests
// survive a relay or member dying on the way (the relay next to the failure places them again, on a
// hop not tried yet, as often as hops fail).
//
// Replies and tunnel frames retrace the paths recorded in paths.ts. Broadcasts and publishes climb to
// the root and flood down the tree, so each sender's messages always take the same path (FIFO).
//
// The search itself is in member-search.ts, tunnels in tunnel-router.ts, and the tree updates this
// relay sends up in tree-reporter.ts.

import { toHex, utf8 } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import { HexCache } from "../util/hex-cache.ts";
import {
  FrameType,
  REQUEST_FLAGS_OFFSET,
  REQUEST_RETRIED,
  ROUTE_BACK,
  ROUTE_DOWN,
  ReplyStatus,
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
import { MemberSearch, NO_MEMBERS, setRouteFlags } from "./member-search.ts";
import { ServiceTable } from "./service-table.ts";
import { Parking } from "./parking.ts";
import { PendingRequests, pathKey } from "./paths.ts";
import type { PendingRequest, TunnelPaths } from "./paths.ts";
import type { PeerSession } from "./peer-session.ts";
import type { RelayLink } from "./relay-link.ts";
import { keyOfService } from "./routing-table.ts";
import { Trees } from "./tree.ts";
import { TreeReporter } from "./tree-reporter.ts";
import { TunnelRouter } from "./tunnel-router.ts";
import type { RelayStats } from "./relay-stats.ts";

export interface RouterHost {
  clock: Clock;
  random: () => number;
  /** The linked relay closest to a key, or null when this relay is the closest. */
  nextHop(key: Uint8Array): RelayLink | null;
  /** The current session of a local peer, which may have reconnected since a request passed. */
  peer(hex: string): PeerSession | undefined;
  log(event: string, fields: Record<string, string | number | boolean>): void;
  stats: RelayStats;
}

export interface RouterOptions {
  startupGraceMs: number;
}

/** A relay keeps an expired request this long past its deadline, to route a late reply. */
const PENDING_GRACE_MS = 1000;
const PARKING_CAPACITY = 10_000;
/** After relay links change, how long memberless work may wait for the trees to be rebuilt. */
const SETTLE_MS = 3000;
const MEMBER_LOST = "member left before replying";

export class Router {
  readonly services: ServiceTable<PeerSession>;
  readonly trees = new Trees<RelayLink>();
  readonly pending = new PendingRequests<Hop>();
  readonly tunnels: TunnelPaths<Hop>;
  readonly parking: Parking;
  private readonly search: MemberSearch;
  private readonly tunnelRouter: TunnelRouter;
  private readonly reporter: TreeReporter;
  private stopped = false;
  /** Callers' peer ids and cluster ids of requests and replies, as the strings the tables are keyed by. */
  private readonly hexes = new HexCache(1024);

  constructor(
    private readonly host: RouterHost,
    options: RouterOptions,
  ) {
    this.services = new ServiceTable(host.random);
    this.parking = new Parking(host.clock.now() + options.startupGraceMs, PARKING_CAPACITY);
    this.reporter = new TreeReporter(host, this.trees, this.services);
    this.search = new MemberSearch(host, this.trees, this.services);
    this.tunnelRouter = new TunnelRouter({
      clock: host.clock,
      search: this.search,
      park: (clusterId, deadline, resume, expire) => this.park(clusterId, deadline, resume, expire),
      towardCaller: (hop, callerHex) => this.towardCaller(hop, callerHex),
    });
    this.tunnels = this.tunnelRouter.paths;
  }

  stop(): void {
    this.stopped = true;
    this.reporter.stop();
  }

  // Local membership, as peers join and leave.

  addMember(id: Uint8Array, session: PeerSession): void {
    const idHex = toHex(id);
    this.services.addMember(idHex, session);
    this.reporter.refresh(this.trees.ensure(idHex, id));
    this.parking.release(idHex);
  }

  removeMember(idHex: string, session: PeerSession): void {
    if (!this.services.removeMember(idHex, session)) return;
    const tree = this.trees.get(idHex);
    if (tree) this.reporter.refresh(tree);
  }

  addSubscriber(id: Uint8Array, session: PeerSession): void {
    const idHex = toHex(id);
    this.services.addSubscriber(idHex, session);
    this.reporter.refresh(this.trees.ensure(idHex, id));
  }

  removeSubscriber(idHex: string, session: PeerSession): void {
    if (!this.services.removeSubscriber(idHex, session)) return;
    const tree = this.trees.get(idHex);
    if (tree) this.reporter.refresh(tree);
  }

  reportLoad(id: Uint8Array, session: PeerSession, load: number): void {
    const idHex = toHex(id);
    this.services.reportLoad(idHex, session, load);
    this.reporter.markDirty(idHex);
  }

  // Requests and replies.

  request(from: Hop, bytes: Uint8Array, frame: RequestFrame): void {
    const callerHex = this.hexes.hex(frame.origin);
    const key = pathKey(callerHex, frame.reqId);
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
    if (!spendHop(bytes))
      return this.replyTo(from, frame.origin, frame.reqId, ReplyStatus.NoMembers, "hop limit reached");
    const entry: PendingRequest<Hop> = {
      key,
      clusterId: this.hexes.hex(frame.id),
      callerHex,
      origin: frame.origin,
      reqId: frame.reqId,
      frame: bytes,
      from,
      to: from,
      mode: (flags & (ROUTE_DOWN | ROUTE_BACK)) !== 0 ? "down" : "up",
      above: (flags & ROUTE_DOWN) !== 0 ? from : null,
      tried: (flags & ROUTE_BACK) !== 0 ? new Set([from]) : new Set(),
      placedAgain: false,
      deadline: this.host.clock.now() + frame.timeoutMs + PENDING_GRACE_MS,
    };
    this.pending.add(entry);
    this.host.stats.requestsPlaced++;
    this.placeRequest(entry);
  }

  private placeRequest(entry: PendingRequest<Hop>): void {
    for (;;) {
      const step = this.search.step(entry.clusterId, entry);
      if ("to" in step) {
        const hop = step.to;
        setRouteFlags(entry.frame, step.down ? ROUTE_DOWN : 0);
        entry.mode = step.down ? "down" : "up";
        this.pending.redirect(entry, hop);
        if (hop.kind === "peer") this.services.trackOutstanding(entry.clusterId, hop as PeerSession, 1);
        if (hop.send(entry.frame)) {
          // Sent back down the relay link it came up (the root turning it down the same branch): the
          // reply goes from that relay straight toward the caller, never through here, as with a
          // request sent back up where it came from. Kept, the entry would outlive its use and take the
          // caller's re-send (after a reply lost on the way, in a drain say) for a copy already on its
          // way, and drop it: the request then times out.
          if (step.down && hop === entry.from && hop.kind === "relay") this.pending.delete(entry);
          return;
        }
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
      const parked = this.park(
        entry.clusterId,
        entry.deadline - PENDING_GRACE_MS,
        () => {
          this.pending.add(entry);
          this.placeRequest(entry);
        },
        () => this.answer(entry, ReplyStatus.NoMembers, NO_MEMBERS),
      );
      if (parked) return;
      // A request placed again after its member was lost says so; a first try just found nobody.
      if ((entry.frame[REQUEST_FLAGS_OFFSET]! & REQUEST_RETRIED) !== 0)
        this.answer(entry, ReplyStatus.MemberLost, MEMBER_LOST);
      else this.answer(entry, ReplyStatus.NoMembers, NO_MEMBERS);
      return;
    }
  }

  reply(from: Hop, bytes: Uint8Array, frame: ReplyFrame): void {
    const entry = this.pending.get(pathKey(this.hexes.hex(frame.origin), frame.reqId));
    // A late reply (the request expired) or one from a hop that was never asked: drop it.
    if (!entry || entry.to !== from) return;
    if (from.kind === "peer") this.services.trackOutstanding(entry.clusterId, from as PeerSession, -1);
    // A member that left the cluster while the request was on its way, or handed it back as it left:
    // another member can still take it.
    if (frame.status === ReplyStatus.MemberLost && from.kind === "peer") return this.retry(entry, from);
    this.pending.delete(entry);
    this.towardCaller(entry.from, entry.callerHex)?.send(bytes);
  }

  /**
   * The hop a request went to failed (or its member handed it back): place it again from here, on a
   * hop not tried yet. However many members leave, the request goes on while one remains and its
   * deadline allows; only when every way from here has been tried does the caller hear MemberLost.
   */
  private retry(entry: PendingRequest<Hop>, failed: Hop): void {
    entry.placedAgain = true;
    this.host.stats.requestsPlacedAgain++;
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
    const locals =
      frame.type === FrameType.Broadcast ? this.services.membersOf(idHex) : this.services.subscribersOf(idHex);
    for (const session of locals) session.send(bytes);
    const tree = this.trees.get(idHex);
    if (!tree) return;
    // Every child, the one it came up from included: nothing is delivered on the way up.
    for (const [child, aggregate] of tree.children) if (aggregate.count > 0) child.send(bytes);
  }

  // Tunnels: opened like a request, then every frame retraces the path (tunnel-router.ts).

  tunnelOpen(from: Hop, bytes: Uint8Array, frame: TunnelOpenFrame): void {
    this.tunnelRouter.open(from, bytes, frame);
  }

  tunnelAccept(from: Hop, bytes: Uint8Array, frame: TunnelAcceptFrame): void {
    this.tunnelRouter.accept(from, bytes, frame);
  }

  tunnelPath(from: Hop, bytes: Uint8Array, frame: TunnelPathFrame): void {
    this.tunnelRouter.forward(from, bytes, frame);
  }

  // Trees.

  treeUpdate(child: RelayLink, frame: TreeUpdateFrame): void {
    const idHex = toHex(frame.id);
    const tree = this.trees.ensure(idHex, frame.id);
    if (frame.count > 0) tree.children.set(child, { count: frame.count, weight: frame.weight });
    else tree.children.delete(child);
    this.reporter.refresh(tree);
    if (frame.count > 0) this.parking.release(idHex);
  }

  /** Relay links changed: trees may have a new parent (or become roots, or stop being roots). */
  routingChanged(): void {
    // Trees are rebuilt around the change over the next moments: work that finds no member meanwhile
    // waits a little for the updates rather than failing.
    this.parking.extend(this.host.clock.now() + SETTLE_MS);
    this.reporter.refreshAll(false);
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
      this.reporter.refreshAll(false);
      // Requests that came through this relay have no way back; their callers retry on their own.
      for (const entry of this.pending.cameFrom(link)) this.pending.delete(entry);
    }
    for (const entry of this.pending.sentTo(hop)) this.retry(entry, hop);
    this.tunnelRouter.hopGone(hop);
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

  private park(clusterId: string, deadline: number, resume: () => void, expire: () => void): boolean {
    return this.parking.park({ clusterId, deadline, resume, expire }, this.host.clock.now());
  }

  /** A hop toward a caller, following the caller's reconnection when it is a local peer. */
  private towardCaller(hop: Hop, callerHex: string): Hop | undefined {
    if (hop.kind === "peer" && hop.gone) return this.host.peer(callerHex);
    return hop;
  }
}
