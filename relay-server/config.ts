// Relay configuration from command-line flags, then environment variables, then defaults.

import { RELAY_DEFAULTS } from "../core/internal.node.ts";
import { parseKey } from "../core/crypto/keys.ts";

export interface RelayServerConfig {
  host: string;
  port: number;
  /** Relays to link to at start. */
  seeds: string[];
  /** The address other relays and peers should dial; by default the listening address. */
  advertise: string | null;
  /** A closed backbone's network key (32 bytes), or null for an open one. */
  networkKey: Uint8Array | null;
  maxRelayLinks: number;
  maxLinksPerAddress: number;
  maxHandshakesPerAddress: number;
  maxJoinsPerPeer: number;
  maxTunnelsPerPeer: number;
  drainTimeoutMs: number;
  maxMessage: number;
  heartbeatMs: number;
  queueHighWater: number;
  stallTimeoutMs: number;
  outboundQueueLimit: number;
  slowConsumer: "disconnect" | "drop";
  handshakeTimeoutMs: number;
  startupGraceMs: number;
  /** Debugging: a file that receives every frame in and out, raw. Never enable in production. */
  tap: string | null;
  logLevel: "info" | "debug" | "quiet";
}

export const HELP = `iris-relay: a relay of the iris-mesh network

Usage: iris-relay [options]

  --host <addr>            address to listen on            (IRIS_HOST, default 127.0.0.1)
  --port <n>               port to listen on; 0 picks one  (IRIS_PORT, default 7600)
  --seed <url>             a relay to link to; repeatable  (IRIS_SEEDS, comma-separated)
  --advertise <url>        the address others should dial  (IRIS_ADVERTISE, default ws://host:port)
  --network-key <key>      admit only relays and peers holding this key, and seal
                           every hop (IRIS_NETWORK_KEY; base64url, 32 bytes)
  --max-relay-links <n>    most links to other relays      (IRIS_MAX_RELAY_LINKS, default 16)
  --drain-timeout <ms>     on SIGTERM, time to hand peers over before exiting (default 10000)
  --max-links-per-address <n>       links one IP address may hold (default 1024)
  --max-handshakes-per-address <n>  links from one IP address still proving themselves (default 32)
  --max-joins-per-peer <n>          clusters and topics one peer may join (default 1024)
  --max-tunnels-per-peer <n>        tunnels one peer may have open as a caller (default 256)
  --max-message <bytes>    largest sealed message          (IRIS_MAX_MESSAGE, default 1048576)
  --heartbeat <ms>         heartbeat interval; 3 missed = dead (IRIS_HEARTBEAT_MS, default 1000)
  --queue-high-water <bytes>  a link's queue above which the relay stops reading from
                           the links that feed it (IRIS_QUEUE_HIGH_WATER, default 1048576)
  --stall-timeout <ms>     a link over its high-water mark that makes no progress this
                           long is cut (IRIS_STALL_TIMEOUT_MS, default 10000)
  --queue-limit <bytes>    per-link outbound queue hard cap (IRIS_QUEUE_LIMIT, default 67108864)
  --slow-consumer <policy> past the cap: disconnect | drop (IRIS_SLOW_CONSUMER, default disconnect)
  --handshake-timeout <ms> time a new link has to prove itself (default 5000)
  --startup-grace <ms>     after start, work for a cluster without members waits
                           this long for one to (re)join (IRIS_STARTUP_GRACE_MS, default 5000)
  --log <level>            info | debug | quiet            (IRIS_LOG, default info)
  --tap <file>             DEBUG ONLY: write every frame to <file>
  --help                   print this help

SIGTERM or SIGINT drains the relay: it accepts nothing new, lets work in progress finish, asks its
peers to move to other relays, then exits. GET /status on the same port reports its state as JSON.

The relay never holds cluster or topic keys: it routes sealed payloads it cannot read.
`;

export class ConfigError extends Error {}

export function parseConfig(argv: string[], env: Record<string, string | undefined>): RelayServerConfig | "help" {
  const flags = new Map<string, string>();
  const seeds: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument: ${arg}`);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    if (!KNOWN_FLAGS.has(name)) throw new ConfigError(`unknown option --${name} (see --help)`);
    if (name === "seed") seeds.push(value);
    else flags.set(name, value);
  }
  const pick = (flag: string, envName: string) => flags.get(flag) ?? env[envName];
  const slowConsumer = pick("slow-consumer", "IRIS_SLOW_CONSUMER") ?? RELAY_DEFAULTS.slowConsumer;
  if (slowConsumer !== "disconnect" && slowConsumer !== "drop") {
    throw new ConfigError(`--slow-consumer must be disconnect or drop, not ${slowConsumer}`);
  }
  const logLevel = pick("log", "IRIS_LOG") ?? "info";
  if (logLevel !== "info" && logLevel !== "debug" && logLevel !== "quiet") {
    throw new ConfigError(`--log must be info, debug or quiet, not ${logLevel}`);
  }
  if (seeds.length === 0 && env.IRIS_SEEDS) seeds.push(...env.IRIS_SEEDS.split(/[\s,]+/).filter(Boolean));
  for (const seed of seeds) {
    if (!/^wss?:\/\//.test(seed))
      throw new ConfigError(`--seed must be a ws:// or wss:// URL, not ${JSON.stringify(seed)}`);
  }
  return {
    host: pick("host", "IRIS_HOST") ?? "127.0.0.1",
    port: integer("port", pick("port", "IRIS_PORT"), 7600, 0, 65535),
    seeds,
    advertise: pick("advertise", "IRIS_ADVERTISE") ?? null,
    networkKey: networkKeyOf(pick("network-key", "IRIS_NETWORK_KEY")),
    maxRelayLinks: integer(
      "max-relay-links",
      pick("max-relay-links", "IRIS_MAX_RELAY_LINKS"),
      RELAY_DEFAULTS.maxRelayLinks,
      1,
      1024,
    ),
    drainTimeoutMs: integer("drain-timeout", flags.get("drain-timeout"), 10_000, 0, 600_000),
    maxLinksPerAddress: integer(
      "max-links-per-address",
      flags.get("max-links-per-address"),
      RELAY_DEFAULTS.maxLinksPerAddress,
      1,
      1_000_000,
    ),
    maxHandshakesPerAddress: integer(
      "max-handshakes-per-address",
      flags.get("max-handshakes-per-address"),
      RELAY_DEFAULTS.maxHandshakesPerAddress,
      1,
      1_000_000,
    ),
    maxJoinsPerPeer: integer(
      "max-joins-per-peer",
      flags.get("max-joins-per-peer"),
      RELAY_DEFAULTS.maxJoinsPerPeer,
      1,
      1_000_000,
    ),
    maxTunnelsPerPeer: integer(
      "max-tunnels-per-peer",
      flags.get("max-tunnels-per-peer"),
      RELAY_DEFAULTS.maxTunnelsPerPeer,
      1,
      1_000_000,
    ),
    maxMessage: integer(
      "max-message",
      pick("max-message", "IRIS_MAX_MESSAGE"),
      RELAY_DEFAULTS.maxMessage,
      1024,
      2 ** 30,
    ),
    heartbeatMs: integer("heartbeat", pick("heartbeat", "IRIS_HEARTBEAT_MS"), RELAY_DEFAULTS.heartbeatMs, 10, 600_000),
    queueHighWater: integer(
      "queue-high-water",
      pick("queue-high-water", "IRIS_QUEUE_HIGH_WATER"),
      RELAY_DEFAULTS.queueHighWater,
      64 * 1024,
      2 ** 32,
    ),
    stallTimeoutMs: integer(
      "stall-timeout",
      pick("stall-timeout", "IRIS_STALL_TIMEOUT_MS"),
      RELAY_DEFAULTS.stallTimeoutMs,
      100,
      600_000,
    ),
    outboundQueueLimit: integer(
      "queue-limit",
      pick("queue-limit", "IRIS_QUEUE_LIMIT"),
      RELAY_DEFAULTS.outboundQueueLimit,
      64 * 1024,
      2 ** 32,
    ),
    slowConsumer,
    handshakeTimeoutMs: integer(
      "handshake-timeout",
      flags.get("handshake-timeout"),
      RELAY_DEFAULTS.handshakeTimeoutMs,
      100,
      600_000,
    ),
    startupGraceMs: integer(
      "startup-grace",
      pick("startup-grace", "IRIS_STARTUP_GRACE_MS"),
      RELAY_DEFAULTS.startupGraceMs,
      0,
      600_000,
    ),
    tap: pick("tap", "IRIS_RELAY_TAP") ?? null,
    logLevel,
  };
}

const KNOWN_FLAGS = new Set([
  "host",
  "queue-high-water",
  "stall-timeout",
  "port",
  "seed",
  "advertise",
  "network-key",
  "max-relay-links",
  "drain-timeout",
  "max-links-per-address",
  "max-handshakes-per-address",
  "max-joins-per-peer",
  "max-tunnels-per-peer",
  "max-message",
  "heartbeat",
  "queue-limit",
  "slow-consumer",
  "handshake-timeout",
  "startup-grace",
  "log",
  "tap",
]);

function networkKeyOf(text: string | undefined): Uint8Array | null {
  if (text === undefined || text === "") return null;
  try {
    return parseKey(text, "--network-key");
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`);
  }
  return value;
}
