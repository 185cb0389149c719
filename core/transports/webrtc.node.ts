// The only module that imports werift: Node's RTCPeerConnection for direct links. werift follows the
// W3C API closely but not exactly, so thin adapters present it as the PeerConnectionLike and
// DataChannelLike that webrtc.ts expects:
// - its data channels send Buffers (a Uint8Array is wrapped, not copied) and deliver Buffers;
// - `datachannel` events carry werift channels, which must be wrapped before the connector sees them;
// - addIceCandidate wants undefined where browsers accept null;
// - its gathering skips loopback unless told, and it has knobs browsers lack to keep ICE on chosen
//   addresses (used for the tests' loopback-only rule).

import { Buffer } from "node:buffer";
import { RTCPeerConnection } from "werift";
import type { RTCDataChannel, RTCPeerConnectionConfig } from "werift";
import type { DataChannelLike } from "./webrtc-link.ts";
import type { IceCandidateInit, PeerConnectionFactory, PeerConnectionLike, SessionDescriptionInit } from "./webrtc.ts";
import type { WeriftOptions } from "./werift-options.ts";

export type { WeriftOptions } from "./werift-options.ts";

/** A factory of werift peer connections for connectWebRtc(). */
export function weriftPeerConnectionFactory(options: WeriftOptions = {}): PeerConnectionFactory {
  const allowed = options.restrictToAddresses ? new Set(options.restrictToAddresses) : null;
  return ({ iceServers }) => {
    const config: RTCPeerConnectionConfig = {
      iceServers,
      iceUseIpv6: options.useIpv6 ?? true,
      ...(options.additionalHostAddresses ? { iceAdditionalHostAddresses: options.additionalHostAddresses } : {}),
      ...(allowed
        ? {
            iceFilterCandidatePair: (pair) =>
              allowed.has(pair.localCandidate.host) && allowed.has(pair.remoteCandidate.host),
            iceFilterStunResponse: (_message, address) => allowed.has(address[0]),
          }
        : {}),
      // werift's own options, typed loosely in WeriftOptions so that its types need no werift installed.
      ...(options.config as Partial<RTCPeerConnectionConfig> | undefined),
    };
    return new WeriftPeerConnection(new RTCPeerConnection(config));
  };
}

class WeriftPeerConnection implements PeerConnectionLike {
  constructor(readonly pc: RTCPeerConnection) {}

  get connectionState(): string {
    return this.pc.connectionState;
  }

  get localDescription(): { type: string; sdp: string } | null {
    return this.pc.localDescription;
  }

  get sctp(): { maxMessageSize: number } | null {
    const transport = this.pc.sctpTransport;
    if (!transport) return null;
    // werift's remote limit is 0 when the other end declared none.
    const remote = transport.remoteMaxMessageSize || Number.POSITIVE_INFINITY;
    return { maxMessageSize: Math.min(transport.maxMessageSize, remote) };
  }

  createOffer(): Promise<{ type: string; sdp?: string }> {
    return this.pc.createOffer();
  }

  createAnswer(): Promise<{ type: string; sdp?: string }> {
    return this.pc.createAnswer();
  }

  setLocalDescription(description: SessionDescriptionInit): Promise<unknown> {
    return this.pc.setLocalDescription(description);
  }

  setRemoteDescription(description: SessionDescriptionInit): Promise<unknown> {
    return this.pc.setRemoteDescription(description);
  }

  addIceCandidate(candidate: IceCandidateInit): Promise<unknown> {
    return this.pc.addIceCandidate({
      candidate: candidate.candidate,
      ...(candidate.sdpMid !== null ? { sdpMid: candidate.sdpMid } : {}),
      ...(candidate.sdpMLineIndex !== null ? { sdpMLineIndex: candidate.sdpMLineIndex } : {}),
    });
  }

  createDataChannel(label: string, options: { ordered: boolean }): DataChannelLike {
    return new WeriftDataChannel(this.pc.createDataChannel(label, options));
  }

  close(): Promise<void> {
    return this.pc.close();
  }

  // Listener signatures follow the event; werift passes plain objects (see PeerConnectionLike).

  // biome-ignore lint/suspicious/noExplicitAny: the event type is declared loosely on purpose (above)
  addEventListener(type: string, listener: (event: any) => void): void {
    if (type === "datachannel") {
      this.pc.addEventListener(type, (event: { channel: RTCDataChannel }) =>
        listener({ channel: new WeriftDataChannel(event.channel) }),
      );
    } else {
      this.pc.addEventListener(type, listener);
    }
  }
}

/** How long a werift channel may wait for the other side's half of the close before reporting it anyway. */
const HALF_CLOSE_GRACE_MS = 2_000;

class WeriftDataChannel implements DataChannelLike {
  // werift has no binaryType: it always delivers Buffers, which are Uint8Arrays.
  binaryType = "arraybuffer";
  private readonly closeListeners: Array<(event: { type: string }) => void> = [];
  private association: RTCDataChannel["sctp"]["sctp"] | null = null;
  private resets = 0;
  private weriftClosed = false;
  private reported = false;
  private unsubscribe: Array<() => void> = [];

  constructor(readonly channel: RTCDataChannel) {
    // werift says "close" as soon as its own half of the stream is reset, before the other side has
    // reset its half. A peer connection torn down at that point never answers the other side's reset,
    // and a browser's channel then stays "closing" for good. So "close" is passed on only once both
    // halves are reset (two stream resets for this channel), the association is gone, or a grace
    // period has passed. The association is stable once the channel is open.
    channel.addEventListener("open", () => this.watchAssociation());
    if (channel.readyState === "open") this.watchAssociation();
    channel.addEventListener("close", () => {
      this.weriftClosed = true;
      if (!this.settleClose()) setTimeout(() => this.report(), HALF_CLOSE_GRACE_MS);
    });
  }

  get label(): string {
    return this.channel.label;
  }

  get readyState(): string {
    // Consistent with the held-back "close" event.
    const state = this.channel.readyState;
    return state === "closed" && !this.reported ? "closing" : state;
  }

  get bufferedAmount(): number {
    return this.channel.bufferedAmount;
  }

  get bufferedAmountLowThreshold(): number {
    return this.channel.bufferedAmountLowThreshold;
  }

  set bufferedAmountLowThreshold(value: number) {
    this.channel.bufferedAmountLowThreshold = value;
  }

  send(data: Uint8Array<ArrayBuffer>): void {
    this.channel.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  close(): void {
    this.channel.close();
  }

  // See WeriftPeerConnection.addEventListener.

  // biome-ignore lint/suspicious/noExplicitAny: the event type is declared loosely on purpose (above)
  addEventListener(type: string, listener: (event: any) => void): void {
    if (type === "close") this.closeListeners.push(listener);
    else this.channel.addEventListener(type, listener);
  }

  private watchAssociation(): void {
    if (this.association) return;
    const association = this.channel.sctp.sctp;
    this.association = association;
    const resets = association.onReconfigStreams.subscribe((streams) => {
      if (!streams.includes(this.channel.id)) return;
      this.resets++;
      this.settleClose();
    });
    const closed = association.stateChanged.closed.subscribe(() => this.settleClose());
    this.unsubscribe = [resets.unSubscribe, closed.unSubscribe];
  }

  /** Reports the close if it is complete; true if it was. */
  private settleClose(): boolean {
    if (!this.weriftClosed) return false;
    const association = this.association;
    if (association && this.resets < 2 && association.state !== "closed") return false;
    this.report();
    return true;
  }

  private report(): void {
    if (this.reported) return;
    this.reported = true;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    for (const listener of this.closeListeners) listener({ type: "close" });
  }
}
