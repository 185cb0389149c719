// A peer's connection to the network: the public face of core. It owns the relay attachment, the
// outbox, the keyring and the replay window, dispatches arriving frames to the patterns, and restores
// joins after every reconnect. Runtime specifics (how to dial, what a clock is) are injected; node.ts and
// browser.ts supply them (connection-options.ts lists what can be set).

export type { ConnectOptions, ConnectionEvents, ConnectionSetup } from "./connection-options.ts";

import { RelayAttachment } from "./relay-attachment.ts";
import type { Attached, Detached } from "./relay-attachment.ts";
import { toHex, utf8 } from "../util/bytes.ts";
import { systemClock } from "../util/clock.ts";
import type { Clock } from "../util/clock.ts";
import { generateIdentity, parseKey } from "../crypto/keys.ts";
import { MessageIds } from "../crypto/message-ids.ts";
import { portableCrypto } from "../crypto/nacl.ts";
import { browserScheduling } from "../util/scheduling.ts";
import { networkKeys } from "../transports/secure-link.ts";
import { Keyring } from "../crypto/keyring.ts";
import type { KeyInput } from "../crypto/keyring.ts";
import { ReplayWindow } from "../crypto/replay.ts";
import { ClosedError, DeniedError, TimeoutError, UnreachableError } from "../errors.ts";
import type { RelayFailure } from "../errors.ts";
import { duration } from "../util/duration.ts";
import { Emitter } from "../util/events.ts";
import { DirectLinks } from "./direct-links.ts";
import { Inspector } from "./inspector.ts";
import type { InspectOptions } from "./inspector.ts";
import type { ConnectionEvents, ConnectionSetup } from "./connection-options.ts";
import { Joins } from "./joins.ts";
import { Memberships } from "./memberships.ts";
import type { RegisterOptions, Registration, ServiceHandlers, SubscribeOptions, Subscription } from "./memberships.ts";
import { Outbox } from "./outbox.ts";
import type { Payload, PeerContext } from "./patterns/context.ts";
import { DEFAULT_SEND_TIMEOUT, MessageBatches } from "./patterns/message-batches.ts";
import type { SendOptions } from "./patterns/message-batches.ts";
import type { TopicHandler } from "./patterns/pubsub.ts";
import { DEFAULT_REQUEST_TIMEOUT, RequestCaller } from "./patterns/request/request.ts";
import { RequestAffinity } from "./patterns/request/affinity.ts";
import type { RequestOptions } from "./patterns/request/request.ts";
import { DEFAULT_TUNNEL_SETTINGS } from "./patterns/tunnel/tunnel.ts";
import type { Tunnel } from "./patterns/tunnel/tunnel.ts";
import { DEFAULT_TUNNEL_TIMEOUT, Tunnels } from "./patterns/tunnel/tunnel-table.ts";
import type { TunnelOptions } from "./patterns/tunnel/tunnel-table.ts";
import { CloseCode } from "../transports/link.ts";
import { FRAME_HEADROOM, FrameType, ReplyStatus, encodeFrame } from "../wire/frames.ts";
import type { RelaySnapshot } from "../wire/relay-report.ts";
import type { Frame } from "../wire/frames.ts";

const DEFAULT_MAX_MESSAGE = 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT = 10_000;
const DEFAULT_JOIN_TIMEOUT = 10_000;
const DEFAULT_INSPECT_TIMEOUT = 5000;
function keyBytes(key: KeyInput, what: string): Uint8Array {
  return typeof key === "string" ? parseKey(key, what) : key;
}

/** The development-mode warning is printed once per process, not once per connection. */
let developmentWarned = false;
const MAX_AGENT_LENGTH = 64;
/** A closing member lets the handlers running finish for at most this long. */
const CLOSE_WORK_MS = 10_000;
/** close() waits for what was handed over to reach the link's socket unless nothing moves this long... */
const CLOSE_STALL_MS = 5000;
/** ...and then at most this long for the relay to confirm that it read everything up to the close. */
const CLOSE_GRACE_MS = 30_000;
/** Close codes during the handshake that no retry can fix: connect() reports them at once. */
const REFUSALS: ReadonlySet<number> = new Set([CloseCode.Version, CloseCode.AuthFailed, CloseCode.Protocol]);
/**
 * A relay at a limit for this peer's address (links per address) will not have room a moment later
 * either: connect() reports DeniedError once every configured relay has said so.
 */
const LIMIT_REFUSALS: ReadonlySet<number> = new Set([CloseCode.Limit]);

/**
 * A peer's connection to the network, as {@link connect} resolves it: make requests, broadcast and
 * publish, open tunnels, serve clusters and subscribe to topics through it. It stays attached to one
 * relay at a time, fails over to others by itself, and restores its registrations and subscriptions
 * after every reconnect (the `drop` and `reconnect` events say when).
 *
 * Every call that waits takes a `timeout` (milliseconds; `Infinity` for no limit) and an AbortSignal.
 *
 * @example
 * ```ts
 * import { connect } from "iris-mesh";
 *
 * const conn = await connect({ relays: ["ws://127.0.0.1:7600"], keys: { db: dbKey } });
 * const reply = await conn.request("db", "SELECT 1", { timeout: 1000 });
 * await conn.close();
 * ```
 * @hideconstructor
 */
export class Connection extends Emitter<ConnectionEvents> {
  /** This peer's id, hex; it stays the same across reconnects. */
  readonly peerId: string;
  private readonly clock: Clock;
  private readonly attachment: RelayAttachment;
  private readonly outbox: Outbox;
  private readonly joins: Joins;
  private readonly ctx: PeerContext;
  private readonly caller: RequestCaller;
  private readonly memberships: Memberships;
  private readonly batches: MessageBatches;
  private readonly tunnels: Tunnels;
  private readonly direct: DirectLinks | null;
  private readonly localMaxMessage: number;
  private relayMaxMessage = Infinity;
  private clockOffset = 0;
  private currentRelay: string | null = null;
  private everAttached = false;
  private closedError: ClosedError | null = null;
  private closing: Promise<void> | null = null;
  private firstAttach: { resolve(): void; reject(error: Error): void } | null = null;
  private lastDialError: string | null = null;
  /** The configured relays, and why each failed its first dial, while connect() waits. */
  private readonly configuredRelays: ReadonlySet<string>;
  private readonly firstFailures = new Map<string, RelayFailure>();
  private readonly inspector: Inspector;

  /** @internal Applications call connect(), which also starts the connection. */
  constructor(options: ConnectionSetup) {
    super();
    if (!Array.isArray(options.relays) || options.relays.length === 0) {
      throw new TypeError("connect: `relays` must list at least one relay address");
    }
    for (const relay of options.relays) {
      if (typeof relay !== "string" || !URL.canParse(relay)) {
        throw new TypeError(
          `connect: \`relays\` must hold URLs such as "ws://127.0.0.1:7600"; got ${JSON.stringify(relay)}`,
        );
      }
    }
    if (options.agent !== undefined && options.agent.length > MAX_AGENT_LENGTH) {
      throw new TypeError(`connect: \`agent\` must be at most ${MAX_AGENT_LENGTH} characters`);
    }
    const handshakeTimeout = duration(options.handshakeTimeout, "connect: `handshakeTimeout`", 5000);
    const initialDelay = duration(options.reconnect?.initialDelay, "connect: `reconnect.initialDelay`", 100);
    const maxDelay = duration(options.reconnect?.maxDelay, "connect: `reconnect.maxDelay`", 5000);
    const tunnelSettings = { ...DEFAULT_TUNNEL_SETTINGS, ...options.tunnels };
    tunnelSettings.closeTimeout = duration(
      options.tunnels?.closeTimeout,
      "connect: `tunnels.closeTimeout`",
      DEFAULT_TUNNEL_SETTINGS.closeTimeout,
    );
    tunnelSettings.gapTimeout = duration(
      options.tunnels?.gapTimeout,
      "connect: `tunnels.gapTimeout`",
      DEFAULT_TUNNEL_SETTINGS.gapTimeout,
    );
    const webrtc = options.webrtc && {
      ...options.webrtc,
      connectTimeout: duration(options.webrtc.connectTimeout, "connect: `webrtc.connectTimeout`", 15_000),
      heartbeatInterval: duration(options.webrtc.heartbeatInterval, "connect: `webrtc.heartbeatInterval`", 1000),
    };
    this.clock = options.clock ?? systemClock;
    this.localMaxMessage = options.maxMessage ?? DEFAULT_MAX_MESSAGE;
    const crypto = options.crypto ?? portableCrypto;
    const scheduling = options.scheduling ?? browserScheduling;
    const identity = options.identity ?? generateIdentity(crypto.signing);
    const random = options.random ?? Math.random;
    this.configuredRelays = new Set(options.relays);
    this.outbox = new Outbox(this.clock, scheduling.yieldToEventLoop, options.highWaterMark ?? 1024 * 1024);
    this.inspector = new Inspector(this.clock, this.outbox);
    this.attachment = new RelayAttachment(
      {
        relays: options.relays,
        dialer: options.dialer,
        clock: this.clock,
        identity,
        signing: crypto.signing,
        agent: options.agent ?? "peer",
        maxFrame: this.localMaxMessage + FRAME_HEADROOM,
        handshakeTimeoutMs: handshakeTimeout,
        initialDelayMs: initialDelay,
        maxDelayMs: maxDelay,
        random,
        networkKeys:
          options.networkKey === undefined
            ? null
            : networkKeys(keyBytes(options.networkKey, "network key"), crypto.secretbox),
      },
      {
        attached: (attached) => this.onAttached(attached),
        detached: (detached) => this.onDetached(detached),
        dropped: (drop) => {
          if (!this.closedError) this.emit("drop", drop);
        },
        frame: (frame) => this.dispatch(frame),
      },
    );
    this.peerId = toHex(this.attachment.peerId);
    const keyring = new Keyring(crypto.signing, options.keys, options.development ?? false);
    if (keyring.development && !developmentWarned) {
      developmentWarned = true;
      console.warn(
        "iris-mesh: DEVELOPMENT MODE: services without a configured key use keys derived from their names. INSECURE: anyone can read and join them.",
      );
    }
    this.ctx = {
      peerId: this.attachment.peerId,
      clock: this.clock,
      crypto,
      ids: new MessageIds(),
      afterTurn: scheduling.afterTurn,
      outbox: this.outbox,
      keyring,
      replay: new ReplayWindow(options.replay),
      maxMessage: () => Math.min(this.localMaxMessage, this.relayMaxMessage),
      compressAbove: options.compressAbove ?? 4096,
      networkNow: () => this.clock.now() + this.clockOffset,
      report: (error, context) => this.emit("error", { error, context }),
    };
    this.batches = new MessageBatches(this.ctx);
    this.joins = new Joins(
      this.clock,
      crypto.signing,
      (frame) => this.outbox.sendNow(frame),
      (keys, message) =>
        this.emit("error", {
          error: new DeniedError(`relay refused ${keys.kind} "${keys.name}": ${message}`),
          context: "rejoin",
        }),
    );
    this.direct = webrtc
      ? new DirectLinks(webrtc, this.clock, this.peerId, (peerId, frame) => this.dispatchDirect(peerId, frame))
      : null;
    this.tunnels = new Tunnels(this.ctx, tunnelSettings, this.direct);
    const affinity = this.direct
      ? new RequestAffinity(
          this.direct,
          this.peerId,
          () => this.clock.now(),
          (cluster) => this.openSignalingTunnel(cluster),
        )
      : null;
    this.caller = new RequestCaller(this.ctx, affinity, (peerId) => this.direct?.link(peerId) ?? null);
    this.memberships = new Memberships(this.ctx, this.joins, this.clock);
    this.direct?.on("direct", (event) => {
      this.tunnels.directChanged(event.peerId);
      if (!event.open) this.caller.onDirectClosed(event.peerId);
      this.emit("direct", event);
    });
  }

  /** The relay this peer is attached to now, or null while it reconnects. */
  get relay(): string | null {
    return this.currentRelay;
  }

  /** Peers this one has a direct WebRTC link with now (ids, hex). */
  directPeers(): string[] {
    return this.direct?.peers() ?? [];
  }

  /**
   * Closes the direct link to a peer, if there is one: its tunnels fall back to the relays. With
   * `abrupt`, the link is cut as by a failure, losing what it had not delivered (tunnels replay it).
   */
  dropDirectLink(peerId: string, options: { abrupt?: boolean } = {}): void {
    this.direct?.drop(peerId, options.abrupt ?? false);
  }

  /** @internal Requests this connection has sent, by route: `relayed` through the relays, `direct` over direct links. */
  get requestRoutes(): { relayed: number; direct: number } {
    return { ...this.caller.sent };
  }

  /** Requests waiting for their reply: for introspection and leak checks. */
  get pendingRequests(): number {
    return this.caller.pending;
  }

  /** Relays this peer would fail over to, in the order it tries them. */
  get knownRelays(): readonly string[] {
    return this.attachment.knownRelays;
  }

  /** @internal The keys held, by name; the application holds them already. */
  get keyring(): Keyring {
    return this.ctx.keyring;
  }

  /**
   * @internal connect() calls this. Dials and resolves at the first successful attachment; rejects
   * after `timeout`, once every configured relay has failed once (UnreachableError), on a refusal
   * (DeniedError), or when `signal` aborts. The connection is closed when it rejects.
   */
  start(timeout?: number, signal?: AbortSignal): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = duration(timeout, "connect: `connectTimeout`", DEFAULT_CONNECT_TIMEOUT);
      signal?.throwIfAborted();
    } catch (error) {
      this.close().catch(() => {});
      return Promise.reject(error);
    }
    const timeoutError = new TimeoutError(`could not attach to any relay within ${timeoutMs} ms`);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => this.firstAttach?.reject(signal!.reason);
      const timer = this.clock.setTimeout(() => {
        this.firstAttach?.reject(
          this.lastDialError ? new TimeoutError(`${timeoutError.message}: ${this.lastDialError}`) : timeoutError,
        );
      }, timeoutMs);
      const settled = () => {
        this.firstAttach = null;
        this.clock.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.firstAttach = {
        resolve: () => {
          settled();
          resolve();
        },
        reject: (error) => {
          settled();
          this.close().catch(() => {});
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.attachment.start();
    });
  }

  /**
   * Becomes a member of cluster `name`: serves its requests, broadcasts and tunnels with `handlers`,
   * under every key held for the name. Resolves once the relay confirms; after a reconnect the
   * registration is restored without asking.
   *
   * @throws AlreadyRegisteredError when this connection is registered in `name` already.
   * @throws KeyError when no key is held for `name`; TimeoutError or DeniedError from the relay.
   * @example
   * ```ts
   * const registration = await conn.register(
   *   "db",
   *   { request: (body) => answer(body) },
   *   { limits: { concurrency: 64 }, timeout: 5000 },
   * );
   * ```
   */
  register(name: string, handlers: ServiceHandlers, options: RegisterOptions = {}): Promise<Registration> {
    return this.entry(options.signal, () =>
      this.memberships.register(name, handlers, {
        ...options,
        timeout: duration(options.timeout, "register: `timeout`", DEFAULT_JOIN_TIMEOUT),
      }),
    );
  }

  /**
   * Sends a request to one member of cluster `name`, chosen by load, and resolves with its reply.
   *
   * @throws NoMembersError at once when the cluster has no member; TimeoutError after `timeout`
   *   (default 30 s); RemoteError when the member's handler threw (with its message); OverloadedError
   *   when the member's limits refused it; TooLargeError, KeyError before anything is sent.
   * @example
   * ```ts
   * const reply = await conn.request("db", JSON.stringify({ get: "user:1" }), { timeout: 1000 });
   * console.log(new TextDecoder().decode(reply));
   * ```
   */
  request(name: string, payload: Payload, options: RequestOptions = {}): Promise<Uint8Array> {
    return this.entry(options.signal, () =>
      this.caller.request(name, payload, {
        ...options,
        timeout: duration(options.timeout, "request: `timeout`", DEFAULT_REQUEST_TIMEOUT),
      }),
    );
  }

  /**
   * Sends a message to every member of cluster `name` reachable now, at most once each, in the order
   * this peer broadcasts. Resolves once the message is taken (messages of one turn travel as one sealed
   * batch); waits while the relay link has no room. With no member it is dropped without error.
   *
   * @example
   * ```ts
   * await conn.broadcast("db", "flush caches");
   * ```
   */
  broadcast(name: string, payload: Payload, options: SendOptions = {}): Promise<void> {
    return this.entry(options.signal, () =>
      this.batches.broadcast(name, payload, {
        ...options,
        timeout: duration(options.timeout, "broadcast: `timeout`", DEFAULT_SEND_TIMEOUT),
      }),
    );
  }

  /**
   * Subscribes `handler` to `topic`: it hears every message published on the topic from now on, this
   * peer's own included. Resolves once the relay confirms; restored after every reconnect.
   *
   * @example
   * ```ts
   * const sub = await conn.subscribe("news", (body, info) => console.log(info.origin, body));
   * await sub.unsubscribe();
   * ```
   */
  subscribe(topic: string, handler: TopicHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    return this.entry(options.signal, () =>
      this.memberships.subscribe(topic, handler, {
        ...options,
        timeout: duration(options.timeout, "subscribe: `timeout`", DEFAULT_JOIN_TIMEOUT),
      }),
    );
  }

  /**
   * Publishes a message on `topic` to every subscriber reachable now, at most once each, in the order
   * this peer publishes. Resolves once the message is taken; waits while the relay link has no room.
   * With no subscriber it is dropped.
   *
   * @example
   * ```ts
   * await conn.publish("news", "extra!");
   * ```
   */
  publish(topic: string, payload: Payload, options: SendOptions = {}): Promise<void> {
    return this.entry(options.signal, () =>
      this.batches.publish(topic, payload, {
        ...options,
        timeout: duration(options.timeout, "publish: `timeout`", DEFAULT_SEND_TIMEOUT),
      }),
    );
  }

  /**
   * Opens a tunnel to one member of cluster `name`: an ordered, flow-controlled stream of messages in
   * both directions. Resolves once a member accepts.
   *
   * @throws NoMembersError when the cluster has no member; TimeoutError after `timeout` (default 10 s);
   *   OverloadedError when members refuse it.
   * @example
   * ```ts
   * const tunnel = await conn.tunnel("files", { timeout: 5000 });
   * await tunnel.send(fileBytes);
   * await tunnel.close();
   * ```
   */
  tunnel(name: string, options: TunnelOptions = {}): Promise<Tunnel> {
    return this.entry(options.signal, () =>
      // Only the fields of TunnelOptions go on: an application cannot ask for internal kinds of tunnel.
      this.tunnels.connect(name, {
        timeout: duration(options.timeout, "tunnel: `timeout`", DEFAULT_TUNNEL_TIMEOUT),
        signal: options.signal,
      }),
    );
  }

  /**
   * Key rotation, step 1 on every member and subscriber: serve and listen under `key` for `name` as
   * well as under the keys held already. Nothing is sent with it yet.
   *
   * @example
   * ```ts
   * await member.addKey("db", nextKey);
   * ```
   */
  addKey(name: string, key: KeyInput): Promise<void> {
    return this.entry(undefined, () => this.memberships.addKey(name, key));
  }

  /**
   * Key rotation, step 2 on callers (and members): send with `key` from now on; the previous key stays
   * accepted until retired.
   *
   * @example
   * ```ts
   * await caller.useKey("db", nextKey);
   * ```
   */
  useKey(name: string, key: KeyInput): Promise<void> {
    return this.entry(undefined, () => this.memberships.useKey(name, key));
  }

  /**
   * Key rotation, step 3, once every caller uses the new key: stop serving and listening under the old
   * one.
   *
   * @example
   * ```ts
   * await member.retireKey("db", oldKey);
   * ```
   */
  retireKey(name: string, key: KeyInput): Promise<void> {
    return this.entry(undefined, () => this.memberships.retireKey(name, key));
  }

  /**
   * Asks a relay for its report (links, peers, trees; see RelaySnapshot): this peer's own relay, or any
   * relay of the network by id (hex), routed over the overlay.
   *
   * @example
   * ```ts
   * const own = await conn.inspect();
   * for (const { relayId } of own.directory) console.log(await conn.inspect(relayId, { timeout: 2000 }));
   * ```
   */
  inspect(relayId?: string, options: InspectOptions = {}): Promise<RelaySnapshot> {
    return this.entry(options.signal, () =>
      this.inspector.ask(
        relayId,
        duration(options.timeout, "inspect: `timeout`", DEFAULT_INSPECT_TIMEOUT),
        options.signal,
      ),
    );
  }

  /**
   * Resolves once every registration and subscription is confirmed by the current relay.
   *
   * @example
   * ```ts
   * conn.on("attach", () => conn.restored().then(() => console.log("serving again")));
   * ```
   */
  restored(): Promise<void> {
    return this.joins.restored();
  }

  /**
   * Leaves the network. A member first leaves its clusters (its relay sends it no new work), hands back
   * requests that have not started and lets running ones finish (10 s at most). Everything already
   * handed over (a resolved publish, broadcast or tunnel.send, a reply) and everything still queued
   * reaches the relay: close() resolves once the relay has confirmed reading it all (the link's closing
   * handshake), so the process may exit at once. Pending work fails with ClosedError.
   *
   * @example
   * ```ts
   * process.on("SIGTERM", () => conn.close().then(() => process.exit(0)));
   * ```
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const error = new ClosedError("connection closed");
    this.closedError = error;
    // What callers were told was taken goes to the outbox first.
    this.batches.flush();
    // A member goes in good order: its relay takes it out of every tree first, so no new work comes;
    // what waits for a handler is handed back to be placed elsewhere; what runs finishes, and its
    // replies leave with everything else before the link closes.
    await this.memberships.leaveAll();
    await this.memberships.finishWork(CLOSE_WORK_MS);
    await this.outbox.flush(CLOSE_STALL_MS);
    this.memberships.close();
    this.caller.failAll(error);
    this.tunnels.failAll(error);
    this.joins.failAll(error);
    this.inspector.failAll(error);
    this.outbox.close(error);
    this.direct?.close();
    await this.attachment.stop(CLOSE_GRACE_MS);
  }

  /**
   * Where every public call starts: a closed connection, an aborted signal or a bad option fails it
   * with a rejected promise, never a synchronous throw.
   */
  private entry<T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    try {
      signal?.throwIfAborted();
      return run();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private onAttached(attached: Attached): void {
    if (this.closedError) return;
    this.currentRelay = attached.relay;
    this.relayMaxMessage = attached.welcome.maxMessage;
    // Message timestamps use the relay's clock, so peers with skewed clocks still agree on freshness.
    this.clockOffset = attached.welcome.relayTime - this.clock.now();
    this.outbox.attach(attached.link);
    this.joins.attached(attached.challenge);
    this.caller.onAttached();
    this.memberships.reportAllLoads();
    this.emit("attach", { relay: attached.relay });
    if (this.firstAttach) {
      this.firstAttach.resolve();
      this.firstAttach = null;
    }
    if (this.everAttached) {
      this.joins.restored().then(() => {
        if (this.currentRelay === attached.relay && !this.closedError)
          this.emit("reconnect", { relay: attached.relay });
      });
    }
    this.everAttached = true;
  }

  private onDetached(detached: Detached): void {
    this.lastDialError = `${detached.relay}: ${detached.reason}`;
    if (!detached.wasAttached) {
      if (!this.firstAttach) return;
      // A relay that refuses us on principle will not change its mind for connect().
      if (REFUSALS.has(detached.code)) {
        this.firstAttach.reject(new DeniedError(`${detached.relay} refused this peer: ${detached.reason}`));
        return;
      }
      // Once every configured relay has failed once, waiting out connectTimeout would only repeat the
      // same failures: say so now, with each relay's reason.
      const { relay, code, reason } = detached;
      if (this.configuredRelays.has(relay) && !this.firstFailures.has(relay)) {
        this.firstFailures.set(relay, { relay, code, reason });
      }
      if (this.firstFailures.size === this.configuredRelays.size) {
        const causes = [...this.firstFailures.values()];
        const list = causes.map((failure) => `${failure.relay}: ${failure.reason}`).join("; ");
        // Relays at a limit for this peer's address will not have room a moment later either.
        if (causes.every((failure) => LIMIT_REFUSALS.has(failure.code))) {
          this.firstAttach.reject(new DeniedError(`every relay refused this peer: ${list}`));
          return;
        }
        this.firstAttach.reject(
          new UnreachableError(`could not attach to any relay: each one failed the connection (${list})`, causes),
        );
      }
      return;
    }
    this.currentRelay = null;
    this.outbox.detach();
    this.joins.detached();
    this.caller.onDetached();
    this.tunnels.failAll(new ClosedError(`link to relay ${detached.relay} lost: ${detached.reason}`));
  }

  private dispatch(frame: Frame): void {
    switch (frame.type) {
      case FrameType.Reply:
        return this.caller.onReply(frame);
      case FrameType.Request:
        if (!this.memberships.onRequest(frame)) this.refuseRequest(frame.origin, frame.reqId);
        return;
      case FrameType.Broadcast:
        return this.memberships.onBroadcast(frame);
      case FrameType.Publish:
        return this.memberships.subscriptions.onPublish(frame);
      case FrameType.TunnelOpen: {
        const service = this.memberships.tunnelService(frame.id);
        return service ? this.tunnels.accept(frame, service) : undefined;
      }
      case FrameType.TunnelAccept:
        return this.tunnels.onAccept(frame);
      case FrameType.TunnelData:
      case FrameType.TunnelCredit:
      case FrameType.TunnelClose:
        return this.tunnels.onPath(frame);
      case FrameType.Ack:
        return this.joins.onAck(frame);
      case FrameType.Nack:
        return this.joins.onNack(frame);
      case FrameType.InspectReply:
        return this.inspector.onReply(frame);
      case FrameType.Relays:
        return this.attachment.learn(frame.relays.map((relay) => relay.address));
      case FrameType.GoAway:
        return this.attachment.move(CloseCode.Draining, `relay asked us to move: ${frame.reason}`);
      default:
        this.emit("error", { error: new Error(`unexpected frame type ${frame.type} from relay`), context: "dispatch" });
    }
  }

  /** Frames from a direct link: tunnel traffic, and requests and replies between the two peers. */
  private dispatchDirect(peerId: string, frame: Frame): void {
    switch (frame.type) {
      case FrameType.TunnelData:
      case FrameType.TunnelCredit:
      case FrameType.TunnelClose:
        return this.tunnels.onPath(frame, peerId);
      case FrameType.Request: {
        // Only the peer at the other end may ask over its link, in its own name.
        if (toHex(frame.origin) !== peerId) return;
        this.memberships.onRequest(frame, this.direct?.link(peerId) ?? null);
        return;
      }
      case FrameType.Reply:
        return this.caller.onReply(frame, peerId);
    }
  }

  /** A tunnel that only carries the signaling for a direct link to the member that accepts it. */
  private openSignalingTunnel(cluster: string): void {
    this.tunnels.connect(cluster, { signalingOnly: true }).then(
      (tunnel) => {
        // Once the link is up (or the attempt is over) the tunnel has done its work.
        const done = () => tunnel.close().catch(() => {});
        const timer = this.clock.setTimeout(done, 20_000);
        const off = this.on("direct", (event) => {
          if (event.peerId !== tunnel.remotePeer || !event.open) return;
          off();
          this.clock.clearTimeout(timer);
          done();
        });
      },
      () => {}, // no member took it: requests simply stay on the relays
    );
  }

  /** A request for a cluster we left while it was on its way: say so rather than let it time out. */
  private refuseRequest(origin: Uint8Array, reqId: number): void {
    const body = utf8("member left the cluster");
    this.outbox
      .write(encodeFrame({ type: FrameType.Reply, status: ReplyStatus.MemberLost, origin, reqId, body }))
      .catch(() => {});
  }
}
