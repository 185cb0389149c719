// Publish/subscribe: topics any peer holding the topic key may join, across clusters. A publish reaches
// every subscriber reachable at send time, at most once, in per-publisher order; a subscriber receives
// its own publishes. Several local subscriptions to one topic share one join at the relay.

import { toHex } from "../../util/bytes.ts";
import type { ServiceKeys } from "../../crypto/keys.ts";
import { Purpose } from "../../crypto/seal.ts";
import type { PublishFrame } from "../../wire/frames.ts";
import type { MessageInfo, PeerContext } from "./context.ts";
import { deliverBatch } from "./message-batches.ts";

/**
 * Hears one message published on a topic this peer subscribes to (its own publishes included). A throw
 * or a rejection is reported on the connection's `error` event.
 *
 * @example
 * ```ts
 * const onNews: TopicHandler = (body, info) => console.log(info.origin, new TextDecoder().decode(body));
 * await conn.subscribe("news", onNews);
 * ```
 */
export type TopicHandler = (body: Uint8Array, info: MessageInfo) => void | Promise<void>;

export interface Topic {
  readonly keys: ServiceKeys;
  readonly handlers: Set<TopicHandler>;
  /** How reports name this topic's messages. */
  readonly what: string;
}

/** The topics this peer subscribes to, keyed by topic id (hex). */
export class Subscriptions {
  private readonly topics = new Map<string, Topic>();

  constructor(private readonly ctx: PeerContext) {}

  /** Adds a handler; returns the topic and whether it is new here (and so must be joined at the relay). */
  add(keys: ServiceKeys, handler: TopicHandler): { topic: Topic; isNew: boolean } {
    const idHex = toHex(keys.id);
    let topic = this.topics.get(idHex);
    const isNew = !topic;
    if (!topic) this.topics.set(idHex, (topic = { keys, handlers: new Set(), what: `publish on "${keys.name}"` }));
    topic.handlers.add(handler);
    return { topic, isNew };
  }

  /** Removes a handler; returns true when the topic has no handler left (and so must be left). */
  remove(keys: ServiceKeys, handler: TopicHandler): boolean {
    const idHex = toHex(keys.id);
    const topic = this.topics.get(idHex);
    if (!topic?.handlers.delete(handler)) return false;
    if (topic.handlers.size > 0) return false;
    this.topics.delete(idHex);
    return true;
  }

  has(keys: ServiceKeys): boolean {
    return this.topics.has(toHex(keys.id));
  }

  all(): Topic[] {
    return [...this.topics.values()];
  }

  onPublish(frame: PublishFrame): void {
    const topic = this.topics.get(toHex(frame.id));
    if (!topic) return; // unsubscribed while the message was on its way
    // A copy of the handlers: one may unsubscribe while the batch is delivered.
    const handlers = [...topic.handlers];
    deliverBatch(this.ctx, topic.keys, frame.sealed, frame.origin, Purpose.Publish, topic.what, handlers);
  }
}
