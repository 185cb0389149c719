// What can be set on a relay, the defaults, and how unset options are filled in: one place to read
// every knob, apart from the engine (relay.ts re-exports them, so importers need not know).

import type { Clock } from "../util/clock.ts";
import type { CryptoBackend, SigningKeyPair } from "../crypto/nacl.ts";
import type { Dialer } from "../transports/link.ts";
import type { SlowConsumerPolicy } from "./peer-session.ts";

export interface RelayOptions {
  /** The relay's long-lived identity; its relay id derives from it. A fresh one is made otherwise. */
  identity?: SigningKeyPair;
  /** Where peers and other relays reach this relay, as they should dial it. */
  address?: string;
  /** Relays to link to at start. */
  seeds?: string[];
  /**
   * A closed backbone: every link (peers' and relays') must prove this key in a handshake first, and
   * every frame on it is sealed. Peers and relays without it are refused.
   */
  networkKey?: Uint8Array;
  /** How to dial other relays; without one the relay only accepts links. */
  dialer?: Dialer;
  clock?: Clock;
  random?: () => number;
  /** What the relay verifies identities with (and seals network-key links with); portable by default. */
  crypto?: CryptoBackend;
  /** Largest sealed message; frames may add headers on top. */
  maxMessage?: number;
  /**
   * A peer link silent this long gets a ping; one silent `missedHeartbeats` times as long is closed.
   * Any frame counts, so busy links are never pinged. Peers learn it in the welcome and watch the relay
   * on the same scale: long enough that a stall of 10 s at either end costs no link.
   */
  heartbeatMs?: number;
  /** The same for links to other relays: short, so that routes heal around a lost relay in seconds. */
  relayHeartbeatMs?: number;
  /** Heartbeat intervals of silence after which a link is declared dead. */
  missedHeartbeats?: number;
  handshakeTimeoutMs?: number;
  /**
   * Bytes queued for one link above which the relay stops reading from the links that send it more
   * (flow control: the senders wait; nothing is lost).
   */
  queueHighWater?: number;
  /** How long a link whose queue is over the high-water mark may make no progress before it is cut. */
  stallTimeoutMs?: number;
  /** The hard limit of one link's queue: past it the slow-consumer policy applies (drop or disconnect). */
  outboundQueueLimit?: number;
  slowConsumer?: SlowConsumerPolicy;
  maxJoinsPerPeer?: number;
  /** Tunnels a peer may have open as a caller at once, at this relay. */
  maxTunnelsPerPeer?: number;
  /** Links one network address may hold open at once (peers behind one NAT share an address). */
  maxLinksPerAddress?: number;
  /** Links from one address that may be in their handshake at once: a flood of hellos costs little. */
  maxHandshakesPerAddress?: number;
  /** Most links to other relays, incoming included. */
  maxRelayLinks?: number;
  /**
   * For this long after the relay starts, work for a cluster without members waits for one to join
   * (peers of a restarted relay are still dialing back) instead of failing with NoMembers. 0 disables.
   */
  startupGraceMs?: number;
  /** How often the relay reconsiders its relay links and gossips its directory. */
  maintenanceMs?: number;
  log?: RelayLog;
}

export type RelayLog = (event: string, fields: Record<string, string | number | boolean>) => void;

export const RELAY_DEFAULTS = {
  maxMessage: 1024 * 1024,
  heartbeatMs: 20_000,
  relayHeartbeatMs: 1000,
  missedHeartbeats: 3,
  handshakeTimeoutMs: 5000,
  queueHighWater: 1024 * 1024,
  stallTimeoutMs: 10_000,
  outboundQueueLimit: 64 * 1024 * 1024,
  slowConsumer: "disconnect" as SlowConsumerPolicy,
  maxJoinsPerPeer: 1024,
  maxTunnelsPerPeer: 256,
  maxLinksPerAddress: 1024,
  maxHandshakesPerAddress: 32,
  maxRelayLinks: 16,
  startupGraceMs: 5000,
  maintenanceMs: 1000,
};

/** The settings that have defaults, every one of them set. */
export type RelaySettings = Required<
  Omit<RelayOptions, "identity" | "address" | "seeds" | "dialer" | "clock" | "random" | "log" | "networkKey" | "crypto">
>;

export function relaySettings(options: RelayOptions): RelaySettings {
  return {
    maxMessage: options.maxMessage ?? RELAY_DEFAULTS.maxMessage,
    heartbeatMs: options.heartbeatMs ?? RELAY_DEFAULTS.heartbeatMs,
    relayHeartbeatMs: options.relayHeartbeatMs ?? RELAY_DEFAULTS.relayHeartbeatMs,
    missedHeartbeats: options.missedHeartbeats ?? RELAY_DEFAULTS.missedHeartbeats,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? RELAY_DEFAULTS.handshakeTimeoutMs,
    queueHighWater: options.queueHighWater ?? RELAY_DEFAULTS.queueHighWater,
    stallTimeoutMs: options.stallTimeoutMs ?? RELAY_DEFAULTS.stallTimeoutMs,
    outboundQueueLimit: options.outboundQueueLimit ?? RELAY_DEFAULTS.outboundQueueLimit,
    slowConsumer: options.slowConsumer ?? RELAY_DEFAULTS.slowConsumer,
    maxJoinsPerPeer: options.maxJoinsPerPeer ?? RELAY_DEFAULTS.maxJoinsPerPeer,
    maxTunnelsPerPeer: options.maxTunnelsPerPeer ?? RELAY_DEFAULTS.maxTunnelsPerPeer,
    maxLinksPerAddress: options.maxLinksPerAddress ?? RELAY_DEFAULTS.maxLinksPerAddress,
    maxHandshakesPerAddress: options.maxHandshakesPerAddress ?? RELAY_DEFAULTS.maxHandshakesPerAddress,
    maxRelayLinks: options.maxRelayLinks ?? RELAY_DEFAULTS.maxRelayLinks,
    startupGraceMs: options.startupGraceMs ?? RELAY_DEFAULTS.startupGraceMs,
    maintenanceMs: options.maintenanceMs ?? RELAY_DEFAULTS.maintenanceMs,
  };
}
