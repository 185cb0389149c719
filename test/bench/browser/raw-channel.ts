// The baseline of a direct link: a bare RTCDataChannel between two pages, no framing, no sealing, with
// the same flow control as the link's (DATA_CHANNEL_DEFAULTS: wait while over 128 KiB is buffered, go on
// at 64 KiB), which is also the raw channel's best here: with 1 MiB it ran at 4 MB/s instead of 10. Signaling goes through the
// scenario: whole offers and answers (gathering complete), kept to 127.0.0.1 candidates.

import { add, epochNow, fail, message } from "./stream-bytes.ts";
import { rememberSent, resetTally } from "./stream-ends.ts";

const HIGH_WATER = 128 * 1024;
const LOW_WATER = 64 * 1024;

let pc: RTCPeerConnection | null = null;
let channel: RTCDataChannel | null = null;

async function described(connection: RTCPeerConnection): Promise<string> {
  if (connection.iceGatheringState !== "complete")
    await new Promise<void>((resolve) =>
      connection.addEventListener("icegatheringstatechange", () => {
        if (connection.iceGatheringState === "complete") resolve();
      }),
    );
  const sdp = connection.localDescription?.sdp ?? "";
  const kept = sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || line.includes(" 127.0.0.1 "))
    .join("\r\n");
  if (!kept.includes("a=candidate:")) throw new Error("Chromium offered no 127.0.0.1 candidate");
  return kept;
}

function opened(dc: RTCDataChannel): Promise<void> {
  if (dc.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    dc.addEventListener("open", () => resolve(), { once: true });
    dc.addEventListener("close", () => reject(new Error("the raw channel closed before it opened")), { once: true });
  });
}

export const rawChannel = {
  /** The sending page: makes the channel and the offer. */
  async rawOffer(): Promise<string> {
    pc?.close();
    pc = new RTCPeerConnection();
    channel = pc.createDataChannel("raw", { ordered: true });
    channel.binaryType = "arraybuffer";
    await pc.setLocalDescription(await pc.createOffer());
    return described(pc);
  },

  /** The receiving page: answers, and tallies everything the channel brings. */
  async rawAnswer(offer: string): Promise<string> {
    pc?.close();
    pc = new RTCPeerConnection();
    const tally = resetTally();
    pc.addEventListener("datachannel", ({ channel: dc }) => {
      dc.binaryType = "arraybuffer";
      dc.addEventListener("message", (event: MessageEvent<ArrayBuffer>) => add(tally, new Uint8Array(event.data)));
      dc.addEventListener("close", () => fail(tally, "the raw channel closed"));
    });
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    return described(pc);
  },

  async rawAccept(answer: string): Promise<void> {
    if (!pc || !channel) throw new Error("no offer made");
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    await opened(channel);
  },

  /** Sends `total` bytes in messages of `size`, waiting while HIGH_WATER or more is buffered. */
  async rawSend(total: number, size: number): Promise<{ startedAt: number }> {
    const dc = channel;
    if (!dc) throw new Error("no raw channel");
    dc.bufferedAmountLowThreshold = LOW_WATER;
    const parts: Uint8Array<ArrayBuffer>[] = [];
    const startedAt = epochNow();
    for (let index = 0, done = 0; done < total; index++) {
      const part = message(index, Math.min(size, total - done));
      parts.push(part);
      while (dc.bufferedAmount >= HIGH_WATER)
        await new Promise<void>((resolve) => dc.addEventListener("bufferedamountlow", () => resolve(), { once: true }));
      dc.send(part);
      done += part.length;
    }
    rememberSent(parts);
    return { startedAt };
  },

  rawClose(): void {
    channel?.close();
    pc?.close();
    channel = null;
    pc = null;
  },
};
