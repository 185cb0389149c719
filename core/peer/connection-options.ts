// What a peer is configured with (ConnectOptions) and what it tells the application (ConnectionEvents).
// Every option has a default except the relays to start from and how to dial them.

import type { Clock } from "../util/clock.ts";
import type { KeyInput } from "../crypto/keyring.ts";
import type { CryptoBackend, SigningKeyPair } from "../crypto/nacl.ts";
import type { Scheduling } from "../util/scheduling.ts";
import type { ReplayWindowOptions } from "../crypto/replay.ts";
import type { DirectLinkSettings } from "./direct-links.ts";
import type { TunnelSettings } from "./patterns/tunnel/tunnel.ts";
import type { Dialer } from "../transports/link.ts";

export interface ConnectOptions {
  /** Relay addresses; the peer attaches to one and fails over to the others. */
  relays: string[];
  /** Keys by cluster or topic name, base64url text or 32 bytes. */
  keys?: Record<string, KeyInput>;
  /** INSECURE: derive a key from the name for any service without one. For demos only. */
  development?: boolean;
  /** The backbone's network key, when its relays admit only key holders. */
  networkKey?: KeyInput;
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
  /** Names this peer's runtime in relay logs and introspection, e.g. "node" or "browser". */
  agent?: string;
  /** A long-lived identity; a fresh one is made otherwise. The peer id derives from it. */
  identity?: SigningKeyPair;
  /** Largest message body this peer sends or accepts. Default 1 MiB (the relay may set it lower). */
  maxMessage?: number;
  /** Bodies at least this long are compressed before sealing. Default 4 KiB. */
  compressAbove?: number;
  /** How long connect() tries before giving up. Default 10 s. */
  connectTimeout?: number;
  handshakeTimeout?: number;
  reconnect?: { initialDelay?: number; maxDelay?: number };
  /** Outbound bytes buffered in the link before writers wait. Default 1 MiB. */
  highWaterMark?: number;
  tunnels?: Partial<TunnelSettings>;
  replay?: ReplayWindowOptions;
  /**
   * Direct WebRTC links to other peers, which tunnels move onto when both ends can make them. The
   * browser entry fills in the page's RTCPeerConnection; the Node entry, werift's when asked for.
   */
  webrtc?: DirectLinkSettings;
}

export interface ConnectionEvents {
  /** Every time a relay link completes its handshake, the first one included. */
  attach: { relay: string };
  /** The relay link went away; the connection is already dialing again. */
  drop: { relay: string; code: number; reason: string };
  /** Attached again after a drop, with every registration and subscription restored. */
  reconnect: { relay: string };
  /** Something non-fatal went wrong: an unreadable message, a handler that threw, a refused rejoin. */
  error: { error: Error; context: string };
  /** A direct WebRTC link to another peer opened or closed. */
  direct: { peerId: string; open: boolean };
}
