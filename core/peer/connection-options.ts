// What a peer is configured with and what it tells the application. ConnectOptions is the public part,
// what an application passes to connect(); ConnectionSetup adds what the runtime entries (node.ts,
// browser.ts) and the tests inject: how to dial, the clock, randomness, an identity. Every option has a
// default except the relays to start from.
//
// Durations are milliseconds and carry no unit in their names (see util/duration.ts for the rule).

import type { Clock } from "../util/clock.ts";
import type { KeyInput } from "../crypto/keyring.ts";
import type { CryptoBackend, SigningKeyPair } from "../crypto/nacl.ts";
import type { Scheduling } from "../util/scheduling.ts";
import type { ReplayWindowOptions } from "../crypto/replay.ts";
import type { DirectLinkSettings } from "./direct-links.ts";
import type { TunnelSettings } from "./patterns/tunnel/tunnel.ts";
import type { Dialer } from "../transports/link.ts";

/**
 * How connect() reaches the network and how the connection behaves. Only `relays` is required.
 *
 * Every duration here, as everywhere in the API, is a number of milliseconds greater than 0 and at
 * most 2^31 - 1 (about 24.8 days), or `Infinity` for no limit; anything else is refused at once.
 *
 * @example
 * ```ts
 * const conn = await connect({
 *   relays: ["wss://relay-a.example.com", "wss://relay-b.example.com"],
 *   keys: { db: process.env.DB_KEY! },
 *   connectTimeout: 5000,
 * });
 * ```
 */
export interface ConnectOptions {
  /**
   * Relay addresses (`ws://` or `wss://` URLs). The peer attaches to one, picked at random, and fails
   * over to the others, and to relays they tell it about.
   */
  relays: string[];
  /** Keys by cluster or topic name: base64url text (as {@link generateKey} makes) or 32 bytes. */
  keys?: Record<string, KeyInput>;
  /**
   * INSECURE: derive a key from the name for any cluster or topic without one, so demos work with no
   * setup. Anyone can compute such keys. Default false.
   */
  development?: boolean;
  /** The backbone's network key, when its relays admit only peers that hold it. */
  networkKey?: KeyInput;
  /** Names this peer's runtime in relay logs and reports. Default "node" or "browser". At most 64 characters. */
  agent?: string;
  /** Largest message body this peer sends or accepts, bytes. Default 1 MiB (a relay may set it lower). */
  maxMessage?: number;
  /** Bodies at least this many bytes long are compressed before sealing. Default 4 KiB. */
  compressAbove?: number;
  /**
   * How long connect() keeps trying before it fails with TimeoutError. Default 10 s. connect() fails
   * sooner, with UnreachableError, once every relay has refused or failed the connection once.
   */
  connectTimeout?: number;
  /** How long a relay may take to complete the handshake of a new link. Default 5 s. */
  handshakeTimeout?: number;
  /**
   * Redialing after a lost relay link: random delays (full jitter) under a cap that starts at
   * `initialDelay` (default 100 ms) and doubles on each failure up to `maxDelay` (default 5 s).
   */
  reconnect?: {
    /** The first cap on the delay before dialing again. Default 100 ms. */
    initialDelay?: number;
    /** The largest cap, reached by doubling. Default 5 s. */
    maxDelay?: number;
  };
  /** Outbound bytes buffered in the relay link before writers wait. Default 1 MiB. */
  highWaterMark?: number;
  /** Tunnel flow control and limits; see {@link TunnelSettings} for each and its default. */
  tunnels?: Partial<TunnelSettings>;
  /** Aborts connect() while it waits for a first relay; the connection is then closed. */
  signal?: AbortSignal;
}

/**
 * Everything a Connection is built from: the public options, and what the runtime entries and tests
 * inject. Not part of the public API.
 */
export interface ConnectionSetup extends Omit<ConnectOptions, "signal"> {
  /** How to reach a relay address; node.ts and browser.ts inject a WebSocket dialer. */
  dialer: Dialer;
  clock?: Clock;
  random?: () => number;
  /**
   * What this peer seals and signs with. Portable (tweetnacl) by default; the Node entry passes
   * libsodium's secretbox and Node's Ed25519 (same bytes, faster).
   */
  crypto?: CryptoBackend;
  /** How work is spread over turns of the event loop; the Node entry passes Node's (util/scheduling.ts). */
  scheduling?: Scheduling;
  /** A long-lived identity; a fresh one is made otherwise. The peer id derives from it. */
  identity?: SigningKeyPair;
  replay?: ReplayWindowOptions;
  /** Direct links, with the RTCPeerConnection to make them: the page's own, or werift's in Node. */
  webrtc?: DirectLinkSettings;
}

/**
 * What a {@link Connection} tells the application, by event name: `conn.on(name, listener)`.
 *
 * @example
 * ```ts
 * conn.on("drop", ({ relay, reason }) => console.warn(`lost ${relay}: ${reason}; dialing again`));
 * conn.on("reconnect", ({ relay }) => console.info(`back on ${relay}, registrations restored`));
 * ```
 */
export interface ConnectionEvents {
  /** Every time a relay link completes its handshake, the first one included. */
  attach: {
    /** The relay's address. */
    relay: string;
  };
  /** The relay link went away; the connection is already dialing again. */
  drop: {
    /** The relay's address. */
    relay: string;
    /** The WebSocket close code (1006: the connection was lost without a close). */
    code: number;
    /** Why, as the relay or the transport said it. */
    reason: string;
  };
  /** Attached again after a drop, with every registration and subscription restored. */
  reconnect: {
    /** The relay's address. */
    relay: string;
  };
  /** Something non-fatal went wrong: an unreadable message, a handler that threw, a refused rejoin. */
  error: {
    /** What went wrong. */
    error: Error;
    /** Where, e.g. `handler for "db"` or "rejoin". */
    context: string;
  };
  /** A direct WebRTC link to another peer opened or closed. */
  direct: {
    /** The other peer's id, hex. */
    peerId: string;
    /** True when the link opened, false when it closed. */
    open: boolean;
  };
}
