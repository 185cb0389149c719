// The Node entry (`import ... from "iris-mesh"` in Node): the public API with Node's WebSocket client
// (the `ws` package) and Node's faster crypto injected, and werift for direct links, loaded only when
// asked for.

import { Connection } from "./peer/connection.ts";
import type { ConnectOptions } from "./peer/connection-options.ts";
import type { DirectLinkOptions, DirectLinkSettings } from "./peer/direct-links.ts";
import type { WeriftOptions } from "./transports/werift-options.ts";
import { nodeWebSocketDialer } from "./transports/websocket.node.ts";
import { tweetnaclSecretbox } from "./crypto/nacl.ts";
import type { CryptoBackend } from "./crypto/nacl.ts";
import { loadSodiumSecretbox } from "./crypto/secretbox.node.ts";
import { nodeSigning } from "./crypto/signing.node.ts";
import { zlibCompression } from "./crypto/compress.node.ts";
import { nodeScheduling } from "./util/scheduling.node.ts";
import { checkWebSocketUrls } from "./transports/websocket-url.ts";
import { weriftPeerConnections } from "./transports/werift-loader.node.ts";

/**
 * @internal Node's crypto: its native Ed25519 signs and verifies the same bytes as tweetnacl, much
 * faster; libsodium's secretbox (when the optional sodium-native is installed) seals the same boxes
 * about four times faster; zlib deflates and inflates the same raw DEFLATE as fflate, several times
 * faster. Relays and peers of the Node entry use it; nothing global changes.
 */
export const nodeCrypto: CryptoBackend = {
  secretbox: loadSodiumSecretbox() ?? tweetnaclSecretbox,
  signing: nodeSigning,
  compression: zlibCompression,
};
/** @internal How Node spreads work over turns of the event loop (setImmediate). */
export { nodeScheduling };

export * from "./index.ts";
export type { WeriftOptions } from "./transports/werift-options.ts";

/**
 * What connect() takes in Node: {@link ConnectOptions}, and whether to make direct links.
 *
 * @example
 * ```ts
 * const conn = await connect({ relays: ["ws://127.0.0.1:7600"], keys, webrtc: true });
 * ```
 */
export interface NodeConnectOptions extends ConnectOptions {
  /**
   * Direct WebRTC links to other peers, through werift (an optional dependency: `npm install werift`).
   * Off by default: werift takes a while to load, and a relay-routed Node service rarely needs them.
   * `true` for the defaults, or settings, with `werift` for werift's own options.
   */
  webrtc?:
    | boolean
    | (DirectLinkOptions & {
        /** werift's own options: the addresses to gather and keep to. */
        werift?: WeriftOptions;
      });
}

/**
 * Connects to the network over WebSocket and resolves once attached to a relay.
 *
 * @throws TypeError or RangeError at once for a malformed option (a relay that is not a ws:// or
 *   wss:// URL, a duration outside the rule); UnreachableError once every relay has failed the
 *   connection; DeniedError when a relay refuses this peer; TimeoutError after `connectTimeout`.
 * @example
 * ```ts
 * import { connect, generateKey } from "iris-mesh";
 *
 * const conn = await connect({ relays: ["ws://127.0.0.1:7600"], keys: { db: generateKey() } });
 * console.log("attached to", conn.relay, "as", conn.peerId);
 * ```
 */
export async function connect(options: NodeConnectOptions): Promise<Connection> {
  const { webrtc, signal, ...rest } = options;
  checkWebSocketUrls(rest.relays);
  let direct: DirectLinkSettings | undefined;
  if (webrtc) {
    const { werift, ...linkSettings } = webrtc === true ? {} : webrtc;
    direct = { peerConnection: await weriftPeerConnections(werift), ...linkSettings };
  }
  const connection = new Connection({
    agent: "node",
    dialer: nodeWebSocketDialer,
    crypto: nodeCrypto,
    scheduling: nodeScheduling,
    ...rest,
    webrtc: direct,
  });
  await connection.start(rest.connectTimeout, signal);
  return connection;
}
