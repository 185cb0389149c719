// The benchmark's browser page: exposes the stream ends (stream-ends.ts) and the raw data channel
// (raw-channel.ts) on `window.bench` for the webrtc scenario to drive.

import { peerStats, recordPeerConnections } from "./peer-stats.ts";
import { rawChannel } from "./raw-channel.ts";
import { streamEnds } from "./stream-ends.ts";

recordPeerConnections();

const bench = {
  ...streamEnds,
  ...rawChannel,
  peerStats,
  /** Ends whatever a transfer left open: the raw channel, and the connection named `name`. */
  async finish(name: string): Promise<void> {
    rawChannel.rawClose();
    await streamEnds.close(name);
  },
};

declare global {
  interface Window {
    bench: typeof bench;
  }
}

window.bench = bench;
document.getElementById("status")!.textContent = "ready";
