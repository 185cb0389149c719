// Keeps each tree's parent told what is below this relay (tree.ts): counts at once, weight-only changes
// at most every WEIGHT_REPORT_MS so load reports do not flood the backbone, and everything again every
// TREE_REFRESH_MS in case a race lost an update.

import { every } from "../util/clock.ts";
import type { Clock } from "../util/clock.ts";
import { FrameType, encodeFrame } from "../wire/frames.ts";
import type { ServiceTable } from "./service-table.ts";
import type { PeerSession } from "./peer-session.ts";
import type { RelayLink } from "./relay-link.ts";
import { keyOfService } from "./routing-table.ts";
import { aggregateOf, memberWeight } from "./tree.ts";
import type { Aggregate, TreeState, Trees } from "./tree.ts";

/** Weight-only changes go up the tree at most this often; counts go at once. */
const WEIGHT_REPORT_MS = 200;
/** Every tree re-announces itself this often, repairing anything a race may have lost. */
const TREE_REFRESH_MS = 10_000;

export interface TreeReporterHost {
  clock: Clock;
  /** The linked relay closest to a key, or null when this relay is the closest. */
  nextHop(key: Uint8Array): RelayLink | null;
}

export class TreeReporter {
  private readonly dirty = new Set<string>();
  private flushTimer: ReturnType<Clock["setTimeout"]> | null = null;
  private readonly stopRefresh: () => void;

  constructor(
    private readonly host: TreeReporterHost,
    private readonly trees: Trees<RelayLink>,
    private readonly services: ServiceTable<PeerSession>,
  ) {
    this.stopRefresh = every(host.clock, TREE_REFRESH_MS, () => this.refreshAll(true));
  }

  stop(): void {
    this.stopRefresh();
    if (this.flushTimer !== null) this.host.clock.clearTimeout(this.flushTimer);
  }

  /** A weight changed: report it with the next batch. */
  markDirty(idHex: string): void {
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

  refreshAll(force: boolean): void {
    for (const tree of [...this.trees.all()]) this.refresh(tree, force, force);
  }

  /** Recomputes a tree's aggregate and tells the parent what changed (and an old parent that it left). */
  refresh(tree: TreeState<RelayLink>, weightToo = false, resend = false): void {
    const local = this.localAggregate(tree.id);
    const aggregate = aggregateOf(tree, local);
    const parent = this.host.nextHop(keyOfService(tree.idBytes));
    if (parent !== tree.parent) {
      if (tree.parent && !tree.parent.gone && tree.reported.count > 0)
        this.sendTree(tree.parent, tree, { count: 0, weight: 0 });
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
    link.send(
      encodeFrame({ type: FrameType.TreeUpdate, id: tree.idBytes, count: aggregate.count, weight: aggregate.weight }),
    );
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
