// Loads werift, an optional dependency, only when a Node peer asks for direct links; where it is not
// installed, the error says what to install instead of a bare module-not-found.

import type { PeerConnectionFactory } from "./webrtc.ts";
import type { WeriftOptions } from "./werift-options.ts";

/** The werift version range this package's direct links are built and tested against. */
const WERIFT_RANGE = "^0.24.4";

/**
 * werift's peer connections, loaded on first use: werift is an optional dependency that takes a
 * noticeable time to load, and relays and peers that never open a direct link should not pay for it.
 */
export async function weriftPeerConnections(options?: WeriftOptions): Promise<PeerConnectionFactory> {
  let module: typeof import("./webrtc.node.ts");
  try {
    module = await import("./webrtc.node.ts");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" && /['"]werift['"]/.test(String((error as Error).message))) {
      throw new Error(
        `iris-mesh: direct links (the \`webrtc\` option) in Node need the optional package werift; install it with \`npm install werift@"${WERIFT_RANGE}"\``,
        { cause: error },
      );
    }
    throw error;
  }
  return module.weriftPeerConnectionFactory(options);
}
