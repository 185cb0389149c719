// What a peer serves and listens to: its registrations in clusters and its subscriptions to topics,
// each joined at the relay under every key the peer holds for the name. That is what makes a key roll
// painless: members add the next key (and serve under both), callers switch to it, members retire the
// old one, and at no point is there a request nobody can take.

import { toHex } from "../util/bytes.ts";
import { HexCache } from "../util/hex-cache.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";
import type { ServiceKeys } from "../crypto/keys.ts";
import type { KeyInput } from "../crypto/keyring.ts";
import type { Joins } from "./joins.ts";
import { BroadcastReceiver } from "./patterns/broadcast.ts";
import type { BroadcastHandler } from "./patterns/broadcast.ts";
import type { PeerContext } from "./patterns/context.ts";
import { Subscriptions } from "./patterns/pubsub.ts";
import type { TopicHandler } from "./patterns/pubsub.ts";
import { DEFAULT_LIMITS, RequestServer } from "./patterns/request/request.ts";
import type { RequestHandler, ServiceLimits } from "./patterns/request/request.ts";
import type { TunnelHandler, TunnelService } from "./patterns/tunnel/tunnel-table.ts";
import type { Link } from "../transports/link.ts";
import { AlreadyRegisteredError } from "../errors.ts";
import type { BroadcastFrame, RequestFrame } from "../wire/frames.ts";
import { FrameType, encodeFrame } from "../wire/frames.ts";

/**
 * What a member does with the work its cluster receives; leave out what it does not serve. A request
 * to a member without `request` fails with RemoteError; a tunnel to one without `tunnel` is refused.
 *
 * @example
 * ```ts
 * await conn.register("db", {
 *   request: async (body) => lookup(body),
 *   broadcast: (body) => invalidate(body),
 *   tunnel: async (tunnel) => {
 *     for await (const chunk of tunnel) await tunnel.send(chunk);
 *   },
 * });
 * ```
 */
export interface ServiceHandlers {
  /** Answers one request; see {@link RequestHandler}. */
  request?: RequestHandler;
  /** Hears the cluster's broadcasts; see {@link BroadcastHandler}. */
  broadcast?: BroadcastHandler;
  /** Serves a tunnel a caller opened to this member; see {@link TunnelHandler}. */
  tunnel?: TunnelHandler;
}

/**
 * Options of {@link Connection.register}.
 *
 * @example
 * ```ts
 * await conn.register("db", handlers, { limits: { concurrency: 16 }, timeout: 5000 });
 * ```
 */
export interface RegisterOptions {
  /** How much work this member takes at once; see {@link ServiceLimits}. */
  limits?: ServiceLimits;
  /** How long to wait for the relay to confirm the registration. Default 10 s. */
  timeout?: number;
  /** Aborts the registration while it waits for the relay; nothing stays registered. */
  signal?: AbortSignal;
}

/**
 * Options of {@link Connection.subscribe}.
 *
 * @example
 * ```ts
 * await conn.subscribe("news", onNews, { timeout: 5000, signal: AbortSignal.timeout(8000) });
 * ```
 */
export interface SubscribeOptions {
  /** How long to wait for the relay to confirm the subscription. Default 10 s. */
  timeout?: number;
  /** Aborts the subscription while it waits for the relay; nothing stays subscribed. */
  signal?: AbortSignal;
}

/**
 * A membership in a cluster, as {@link Connection.register} returns it.
 *
 * @example
 * ```ts
 * const registration = await conn.register("db", handlers);
 * // later: new work goes to other members, work in progress here completes
 * await registration.unregister();
 * ```
 */
export interface Registration {
  /** The cluster's name. */
  readonly name: string;
  /** Stops serving: new work goes to other members; work in progress still completes. */
  unregister(): Promise<void>;
}

/**
 * A subscription to a topic, as {@link Connection.subscribe} returns it.
 *
 * @example
 * ```ts
 * const sub = await conn.subscribe("news", (body) => console.log(new TextDecoder().decode(body)));
 * await sub.unsubscribe();
 * ```
 */
export interface Subscription {
  /** The topic's name. */
  readonly topic: string;
  /** Stops the handler; the relay is told once no handler of this connection listens to the topic. */
  unsubscribe(): Promise<void>;
}

/** One cluster served under one key. */
interface Service {
  keys: ServiceKeys;
  requests: RequestServer;
  broadcasts: BroadcastReceiver | null;
  handlers: ServiceHandlers;
  limits: Required<ServiceLimits>;
  openTunnels: number;
  loadTimer: TimerHandle | null;
  /** Its leave is on its way to the relay: it still serves what arrives until the relay confirms. */
  leaving: boolean;
}

interface ClusterEntry {
  handlers: ServiceHandlers;
  limits: Required<ServiceLimits>;
}

const JOIN_TIMEOUT = 10_000;
const LOAD_REPORT_INTERVAL_MS = 50;

export class Memberships {
  /** Services by cluster id (hex): one per cluster and key. */
  private readonly services = new Map<string, Service>();
  readonly subscriptions: Subscriptions;
  private readonly clusters = new Map<string, ClusterEntry>();
  /** Topic handlers by name, so a topic joined under a new key reaches the same handlers. */
  private readonly topics = new Map<string, Set<TopicHandler>>();
  /** The cluster ids of arriving requests and broadcasts, as the keys of `services`. */
  private readonly idHex = new HexCache(16);
  /** Request servers of services already left that still have work running. */
  private readonly finishing = new Set<RequestServer>();

  constructor(
    private readonly ctx: PeerContext,
    private readonly joins: Joins,
    private readonly clock: Clock,
  ) {
    this.subscriptions = new Subscriptions(ctx);
  }

  async register(name: string, handlers: ServiceHandlers, options: RegisterOptions = {}): Promise<Registration> {
    if (this.clusters.has(name)) throw new AlreadyRegisteredError(`already registered in cluster "${name}"`);
    const entry: ClusterEntry = { handlers, limits: { ...DEFAULT_LIMITS, ...options.limits } };
    this.clusters.set(name, entry);
    try {
      await Promise.all(
        this.ctx.keyring.all("cluster", name).map((keys) => this.serve(entry, keys, options.timeout, options.signal)),
      );
    } catch (error) {
      await this.leaveCluster(name);
      throw error;
    }
    return {
      name,
      unregister: () => (this.clusters.get(name) === entry ? this.leaveCluster(name) : Promise.resolve()),
    };
  }

  async subscribe(topic: string, handler: TopicHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    let handlers = this.topics.get(topic);
    if (!handlers) this.topics.set(topic, (handlers = new Set()));
    handlers.add(handler);
    try {
      await Promise.all(
        this.ctx.keyring.all("topic", topic).map((keys) => this.listen(keys, handler, options.timeout, options.signal)),
      );
    } catch (error) {
      await this.unsubscribe(topic, handler);
      throw error;
    }
    let active = true;
    return {
      topic,
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        await this.unsubscribe(topic, handler);
      },
    };
  }

  /** Serves and listens under `key` for `name` too, besides the keys held already. */
  async addKey(name: string, key: KeyInput): Promise<void> {
    this.ctx.keyring.accept(name, key);
    const entry = this.clusters.get(name);
    if (entry) await this.serve(entry, this.ctx.keyring.keysFor("cluster", name, key));
    const topic = this.ctx.keyring.keysFor("topic", name, key);
    for (const handler of this.topics.get(name) ?? []) await this.listen(topic, handler);
  }

  /** Sends with `key` from now on (and serves under it too); the previous key stays accepted until retired. */
  async useKey(name: string, key: KeyInput): Promise<void> {
    await this.addKey(name, key);
    this.ctx.keyring.use(name, key);
  }

  /** Stops serving and listening under `key`: messages sealed with it find nobody here any more. */
  async retireKey(name: string, key: KeyInput): Promise<void> {
    this.ctx.keyring.retire(name, key);
    const service = this.services.get(toHex(this.ctx.keyring.keysFor("cluster", name, key).id));
    if (service) await this.stopServing(service);
    const topic = this.ctx.keyring.keysFor("topic", name, key);
    for (const handler of this.topics.get(name) ?? []) {
      if (this.subscriptions.remove(topic, handler)) await this.joins.leave(topic);
    }
  }

  /**
   * A request for one of our clusters, from the relay or over a direct link (`direct`, where the reply
   * goes back). False when we serve no such cluster (we left it while the request was on its way).
   */
  onRequest(frame: RequestFrame, direct: Link | null = null): boolean {
    const service = this.services.get(this.idHex.hex(frame.id));
    if (!service) return false;
    service.requests.onRequest(frame, direct);
    return true;
  }

  onBroadcast(frame: BroadcastFrame): void {
    this.services.get(this.idHex.hex(frame.id))?.broadcasts?.onBroadcast(frame);
  }

  /** What the cluster `id` offers an incoming tunnel: its handler and a slot under its limits. */
  tunnelService(id: Uint8Array): TunnelService | null {
    const service = this.services.get(toHex(id));
    if (!service) return null;
    return {
      keys: service.keys,
      handler: service.handlers.tunnel,
      admit: () => {
        if (service.openTunnels >= service.limits.tunnels) return false;
        service.openTunnels++;
        return true;
      },
      release: () => {
        service.openTunnels--;
      },
    };
  }

  /** Re-reports every service's load (after a reconnect). */
  reportAllLoads(): void {
    for (const service of this.services.values()) this.scheduleLoadReport(service);
  }

  close(): void {
    for (const service of this.services.values())
      if (service.loadTimer !== null) this.clock.clearTimeout(service.loadTimer);
  }

  private async serve(
    entry: ClusterEntry,
    keys: ServiceKeys,
    timeout = JOIN_TIMEOUT,
    signal?: AbortSignal,
  ): Promise<void> {
    const idHex = toHex(keys.id);
    if (this.services.has(idHex)) return;
    const service: Service = {
      keys,
      handlers: entry.handlers,
      limits: entry.limits,
      openTunnels: 0,
      loadTimer: null,
      leaving: false,
      requests: new RequestServer(this.ctx, keys, entry.handlers.request, entry.limits, () =>
        this.scheduleLoadReport(service),
      ),
      broadcasts: entry.handlers.broadcast ? new BroadcastReceiver(this.ctx, keys, entry.handlers.broadcast) : null,
    };
    this.services.set(idHex, service);
    try {
      await this.joins.join(keys, timeout, signal);
    } catch (error) {
      if (this.services.get(idHex) === service) this.services.delete(idHex);
      throw error;
    }
  }

  /**
   * Stops serving a cluster under one key, in that order: the relay takes this member out of its tree
   * (the leave is confirmed), then the service goes. Requests the relay sent before it took us out still
   * arrive meanwhile and are served, rather than bounced; work in progress completes.
   */
  private async stopServing(service: Service): Promise<void> {
    const idHex = toHex(service.keys.id);
    if (this.services.get(idHex) !== service || service.leaving) return;
    service.leaving = true;
    await this.joins.leave(service.keys);
    if (this.services.get(idHex) === service) this.services.delete(idHex);
    if (service.loadTimer !== null) this.clock.clearTimeout(service.loadTimer);
    // Gone from the map but maybe not done: close() waits for it too.
    if (service.requests.load > 0) {
      this.finishing.add(service.requests);
      void service.requests.idle().then(() => this.finishing.delete(service.requests));
    }
  }

  /** Leaves every cluster: once this resolves, the relay sends this member no new work. */
  async leaveAll(): Promise<void> {
    await Promise.all([...this.clusters.keys()].map((name) => this.leaveCluster(name)));
  }

  /**
   * For a member about to go: hands back what waits for a handler (its relay places it on another
   * member) and resolves once the handlers running now have finished, or after `ms`.
   */
  async finishWork(ms: number): Promise<void> {
    const servers = [...[...this.services.values()].map((service) => service.requests), ...this.finishing];
    for (const server of servers) server.handBack();
    let timer: TimerHandle | null = null;
    await Promise.race([
      Promise.all(servers.map((server) => server.idle())),
      new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, ms))),
    ]);
    if (timer !== null) this.clock.clearTimeout(timer);
  }

  private async leaveCluster(name: string): Promise<void> {
    this.clusters.delete(name);
    const ids = new Set(this.ctx.keyring.all("cluster", name).map((keys) => toHex(keys.id)));
    await Promise.all(
      [...this.services.values()].filter((s) => ids.has(toHex(s.keys.id))).map((s) => this.stopServing(s)),
    );
  }

  private async listen(
    keys: ServiceKeys,
    handler: TopicHandler,
    timeout = JOIN_TIMEOUT,
    signal?: AbortSignal,
  ): Promise<void> {
    const { isNew } = this.subscriptions.add(keys, handler);
    if (!isNew) return;
    try {
      await this.joins.join(keys, timeout, signal);
    } catch (error) {
      this.subscriptions.remove(keys, handler);
      throw error;
    }
  }

  private async unsubscribe(topic: string, handler: TopicHandler): Promise<void> {
    const handlers = this.topics.get(topic);
    handlers?.delete(handler);
    if (handlers?.size === 0) this.topics.delete(topic);
    for (const keys of this.subscriptionKeys(topic)) {
      if (this.subscriptions.remove(keys, handler)) await this.joins.leave(keys);
    }
  }

  /** Keys this peer is subscribed under for `topic`, whatever the keyring holds now. */
  private subscriptionKeys(topic: string): ServiceKeys[] {
    return this.subscriptions
      .all()
      .filter((entry) => entry.keys.name === topic)
      .map((entry) => entry.keys);
  }

  private scheduleLoadReport(service: Service): void {
    if (service.loadTimer !== null) return;
    service.loadTimer = this.clock.setTimeout(() => {
      service.loadTimer = null;
      if (this.services.get(toHex(service.keys.id)) !== service) return;
      this.ctx.outbox.sendNow(encodeFrame({ type: FrameType.Load, id: service.keys.id, load: service.requests.load }));
    }, LOAD_REPORT_INTERVAL_MS);
  }
}
