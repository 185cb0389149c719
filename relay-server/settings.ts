// Every setting of a relay, written once: its config-file key (the property name below), flag,
// environment variable, kind of value, default and help. Reading them (config.ts), --help and the
// README's options table (settings-doc.ts) are derived from this table: a new setting is added here
// and nowhere else.

import { RELAY_DEFAULTS } from "../core/relay/relay-options.ts";
import { choice, filePath, integer, key, secret, text, webSocketUrl, webSocketUrls } from "./setting-kinds.ts";
import type { Kind } from "./setting-kinds.ts";

export interface Setting<T> {
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind<T>;
  readonly default: T;
  /** How the docs show the default, where the value alone would not say it (null, or computed). */
  readonly defaultText?: string;
  readonly help: string;
  /** The heading it is listed under in --help and the README. */
  readonly group: SettingGroup;
  /** A flag that may be given more than once, each adding to the list. */
  readonly repeatable?: boolean;
}

export type SettingGroup = "Listening" | "Backbone" | "Limits" | "Operations";

/** A setting may default to null where its kind has no sensible value to default to. */
function setting<T>(spec: Omit<Setting<T>, "default"> & { default: null }): Setting<T | null>;
function setting<T>(spec: Omit<Setting<T>, "default"> & { default: NoInfer<T> }): Setting<T>;
function setting<T>(spec: Setting<T | null>): Setting<T | null> {
  return spec;
}

const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
const LOG_FORMATS = ["auto", "json", "text"] as const;
/** Limits one address, one peer or one relay may reach; enough to mean "unlimited" in practice. */
const MANY = 1_000_000;
const TEN_MINUTES_MS = 600_000;

export const SETTINGS = {
  host: setting({
    group: "Listening",
    flag: "--host",
    env: "IRIS_HOST",
    kind: text("address", "<address>"),
    default: "127.0.0.1",
    help: "address to listen on for peers and relays; 0.0.0.0 or :: for every interface",
  }),
  port: setting({
    group: "Listening",
    flag: "--port",
    env: "IRIS_PORT",
    kind: integer(0, 65535),
    default: 7600,
    help: "port for peers and relays (WebSocket), and the /healthz and /readyz probes; 0 picks a free one",
  }),
  advertise: setting({
    group: "Listening",
    flag: "--advertise",
    env: "IRIS_ADVERTISE",
    kind: webSocketUrl(),
    default: null,
    defaultText: "the listening address",
    help: "the address other relays and peers should dial to reach this relay (its public name behind TLS)",
  }),
  tlsCert: setting({
    group: "Listening",
    flag: "--tls-cert",
    env: "IRIS_TLS_CERT",
    kind: filePath(),
    default: null,
    defaultText: "none: ws://",
    help: "certificate chain (PEM) to serve wss:// with; needs --tls-key",
  }),
  tlsKey: setting({
    group: "Listening",
    flag: "--tls-key",
    env: "IRIS_TLS_KEY",
    kind: filePath(),
    default: null,
    defaultText: "none",
    help: "private key (PEM) of the --tls-cert certificate",
  }),
  seeds: setting({
    group: "Backbone",
    flag: "--seed",
    env: "IRIS_SEEDS",
    kind: webSocketUrls(),
    default: [],
    defaultText: "none",
    repeatable: true,
    help: "relays to link to at start: the flag repeated, the variable comma-separated, a list in the file",
  }),
  tlsCa: setting({
    group: "Backbone",
    flag: "--tls-ca",
    env: "IRIS_TLS_CA",
    kind: filePath(),
    default: null,
    defaultText: "Node's bundled roots",
    help: "CA certificates (PEM) to trust, besides Node's bundled roots, when dialing wss:// relays",
  }),
  networkKey: setting({
    group: "Backbone",
    flag: "--network-key",
    env: "IRIS_NETWORK_KEY",
    kind: key(),
    default: null,
    defaultText: "none: an open backbone",
    help: "a closed backbone: admit only relays and peers holding this key, and seal every hop",
  }),
  maxRelayLinks: setting({
    group: "Backbone",
    flag: "--max-relay-links",
    env: "IRIS_MAX_RELAY_LINKS",
    kind: integer(1, 1024),
    default: RELAY_DEFAULTS.maxRelayLinks,
    help: "most links to other relays, incoming included",
  }),
  maxMessage: setting({
    group: "Limits",
    flag: "--max-message",
    env: "IRIS_MAX_MESSAGE",
    kind: integer(1024, 2 ** 30, "bytes"),
    default: RELAY_DEFAULTS.maxMessage,
    help: "largest sealed message; larger WebSocket frames close the link with 1009",
  }),
  queueHighWater: setting({
    group: "Limits",
    flag: "--queue-high-water",
    env: "IRIS_QUEUE_HIGH_WATER",
    kind: integer(64 * 1024, 2 ** 32, "bytes"),
    default: RELAY_DEFAULTS.queueHighWater,
    help: "a link's queue above which the relay stops reading from the links that feed it",
  }),
  stallTimeoutMs: setting({
    group: "Limits",
    flag: "--stall-timeout",
    env: "IRIS_STALL_TIMEOUT_MS",
    kind: integer(100, TEN_MINUTES_MS, "ms"),
    default: RELAY_DEFAULTS.stallTimeoutMs,
    help: "a link over its high-water mark that makes no progress this long is cut",
  }),
  queueLimit: setting({
    group: "Limits",
    flag: "--queue-limit",
    env: "IRIS_QUEUE_LIMIT",
    kind: integer(64 * 1024, 2 ** 32, "bytes"),
    default: RELAY_DEFAULTS.outboundQueueLimit,
    help: "hard cap of one link's outbound queue; past it the slow-consumer policy applies",
  }),
  slowConsumer: setting({
    group: "Limits",
    flag: "--slow-consumer",
    env: "IRIS_SLOW_CONSUMER",
    kind: choice(["disconnect", "drop"]),
    default: RELAY_DEFAULTS.slowConsumer,
    help: "past the queue's cap, a peer is disconnected (4005), or its frames are dropped",
  }),
  heartbeatMs: setting({
    group: "Limits",
    flag: "--heartbeat",
    env: "IRIS_HEARTBEAT_MS",
    // Below a second, a peer's stall of a moment (or a background tab's throttled timers) costs its link.
    kind: integer(1000, TEN_MINUTES_MS, "ms"),
    default: RELAY_DEFAULTS.heartbeatMs,
    help: "a peer link silent this long is pinged (any frame counts); peers watch the relay on the same scale",
  }),
  relayHeartbeatMs: setting({
    group: "Limits",
    flag: "--relay-heartbeat",
    env: "IRIS_RELAY_HEARTBEAT_MS",
    kind: integer(100, TEN_MINUTES_MS, "ms"),
    default: RELAY_DEFAULTS.relayHeartbeatMs,
    help: "the same for links to other relays: short, so routes heal around a lost relay in seconds",
  }),
  missedHeartbeats: setting({
    group: "Limits",
    flag: "--missed-heartbeats",
    env: "IRIS_MISSED_HEARTBEATS",
    kind: integer(2, 100),
    default: RELAY_DEFAULTS.missedHeartbeats,
    help: "heartbeat intervals of silence after which a link is dead (relay stalls do not count)",
  }),
  handshakeTimeoutMs: setting({
    group: "Limits",
    flag: "--handshake-timeout",
    env: "IRIS_HANDSHAKE_TIMEOUT_MS",
    kind: integer(100, TEN_MINUTES_MS, "ms"),
    default: RELAY_DEFAULTS.handshakeTimeoutMs,
    help: "time a new link has to prove itself (and the network key)",
  }),
  maxLinksPerAddress: setting({
    group: "Limits",
    flag: "--max-links-per-address",
    env: "IRIS_MAX_LINKS_PER_ADDRESS",
    kind: integer(1, MANY),
    default: RELAY_DEFAULTS.maxLinksPerAddress,
    help: "links one IP address may hold open (peers behind one NAT share one)",
  }),
  maxHandshakesPerAddress: setting({
    group: "Limits",
    flag: "--max-handshakes-per-address",
    env: "IRIS_MAX_HANDSHAKES_PER_ADDRESS",
    kind: integer(1, MANY),
    default: RELAY_DEFAULTS.maxHandshakesPerAddress,
    help: "links from one IP address still proving themselves",
  }),
  maxJoinsPerPeer: setting({
    group: "Limits",
    flag: "--max-joins-per-peer",
    env: "IRIS_MAX_JOINS_PER_PEER",
    kind: integer(1, MANY),
    default: RELAY_DEFAULTS.maxJoinsPerPeer,
    help: "clusters and topics one peer may join",
  }),
  maxTunnelsPerPeer: setting({
    group: "Limits",
    flag: "--max-tunnels-per-peer",
    env: "IRIS_MAX_TUNNELS_PER_PEER",
    kind: integer(1, MANY),
    default: RELAY_DEFAULTS.maxTunnelsPerPeer,
    help: "tunnels one peer may have open as a caller",
  }),
  startupGraceMs: setting({
    group: "Limits",
    flag: "--startup-grace",
    env: "IRIS_STARTUP_GRACE_MS",
    kind: integer(0, TEN_MINUTES_MS, "ms"),
    default: RELAY_DEFAULTS.startupGraceMs,
    help: "after start, work for a cluster without members waits this long for one to (re)join",
  }),
  drainTimeoutMs: setting({
    group: "Limits",
    flag: "--drain-timeout",
    env: "IRIS_DRAIN_TIMEOUT_MS",
    kind: integer(0, TEN_MINUTES_MS, "ms"),
    default: 10_000,
    help: "on SIGTERM, time to let work finish and hand peers over before exiting",
  }),
  adminHost: setting({
    group: "Operations",
    flag: "--admin-host",
    env: "IRIS_ADMIN_HOST",
    kind: text("address", "<address>"),
    default: "127.0.0.1",
    help: "address of the admin listener; off loopback it needs --admin-token",
  }),
  adminPort: setting({
    group: "Operations",
    flag: "--admin-port",
    env: "IRIS_ADMIN_PORT",
    kind: integer(0, 65535),
    default: null,
    defaultText: "off",
    help: "port of the admin listener (/status, /metrics, /healthz, /readyz); 0 picks a free one",
  }),
  adminToken: setting({
    group: "Operations",
    flag: "--admin-token",
    env: "IRIS_ADMIN_TOKEN",
    kind: secret(16),
    default: null,
    defaultText: "none",
    help: "the admin listener then wants `Authorization: Bearer <token>`; keep it in the file or the variable",
  }),
  logLevel: setting({
    group: "Operations",
    flag: "--log-level",
    env: "IRIS_LOG_LEVEL",
    kind: choice(LOG_LEVELS),
    default: "info",
    help: "debug adds every peer's comings and goings; warn keeps only what needs a look",
  }),
  logFormat: setting({
    group: "Operations",
    flag: "--log-format",
    env: "IRIS_LOG_FORMAT",
    kind: choice(LOG_FORMATS),
    default: "auto",
    help: "json: one JSON object a line; text: for people; auto: text on a terminal, JSON otherwise",
  }),
  tap: setting({
    group: "Operations",
    flag: "--tap",
    env: "IRIS_TAP",
    kind: filePath(),
    default: null,
    defaultText: "none",
    help: "DEBUGGING ONLY: write every frame in and out to this file",
  }),
};

export type SettingKey = keyof typeof SETTINGS;

type ValueOf<S> = S extends Setting<infer T> ? T : never;

/** A relay's whole configuration: one property per setting, under its config-file key. */
export type RelayServerConfig = { [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The table's entries in order, typed loosely for the code that walks all of them. */
export function allSettings(): Array<[SettingKey, Setting<unknown>]> {
  return Object.entries(SETTINGS) as Array<[SettingKey, Setting<unknown>]>;
}

/** The flag and variable that are not settings: where the config file is. */
export const CONFIG_FLAG = "--config";
export const CONFIG_ENV = "IRIS_CONFIG";
