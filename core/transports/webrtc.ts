// Direct links over WebRTC data channels: the connector that sets one up from signals, plus the public
// surface of the pieces it uses (the data channel Link, the signal types and helpers). Runtime-neutral:
// the RTCPeerConnection is injected (the browser's own in browser.ts, werift's in webrtc.node.ts).
//
// ICE runs with trickle: each side sends its description at once and its candidates as they appear,
// which connects as soon as one pair works instead of waiting for every interface to be gathered.
// Candidates a stack embeds in its SDP (werift gathers before it resolves setLocalDescription) pass the
// same filter and are not trickled twice. Both sides may be browsers or werift, in either role.

import { ClosedError, ProtocolError, TimeoutError } from "../errors.ts";
import { DataChannelLink } from "./webrtc-link.ts";
import type { DataChannelLike, DataChannelLinkOptions } from "./webrtc-link.ts";
import {
  extractFingerprints,
  filterSdpCandidates,
  parseCandidate,
  parseSignal,
  sdpCandidates,
} from "./webrtc-signals.ts";
import type { CandidateFilter, WebRtcSignal } from "./webrtc-signals.ts";
import { asError } from "../util/errors.ts";

export { DataChannelLink, DATA_CHANNEL_DEFAULTS } from "./webrtc-link.ts";
export type { DataChannelLike, DataChannelLinkOptions } from "./webrtc-link.ts";
export { MAX_CHANNEL_MESSAGE } from "./webrtc-framing.ts";
export {
  extractFingerprints,
  filterSdpCandidates,
  onlyAddresses,
  parseCandidate,
  parseSignal,
  SIGNAL_LIMITS,
} from "./webrtc-signals.ts";
export type { CandidateFilter, IceCandidateInfo, WebRtcSignal, WebRtcSignalType } from "./webrtc-signals.ts";

/**
 * A STUN or TURN server for direct links, as RTCPeerConnection takes it.
 *
 * @example
 * ```ts
 * const iceServers: IceServer[] = [{ urls: "turn:turn.example.com:3478", username: "u", credential: "p" }];
 * ```
 */
export interface IceServer {
  /** The server's URL or URLs, e.g. "stun:stun.example.com:3478". */
  urls: string | string[];
  /** The TURN user name. */
  username?: string;
  /** The TURN password. */
  credential?: string;
}

export interface SessionDescriptionInit {
  type: "offer" | "answer";
  sdp: string;
}

export interface IceCandidateInit {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** The part of RTCPeerConnection the connector uses; the browser's fits it, werift's through webrtc.node.ts. */
export interface PeerConnectionLike {
  readonly connectionState: string;
  /** The SCTP transport once negotiated: the largest message both ends accept (Infinity: no limit). */
  readonly sctp?: { readonly maxMessageSize: number } | null;
  readonly localDescription: { readonly type: string; readonly sdp: string } | null;
  createOffer(): Promise<{ type: string; sdp?: string }>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(description: SessionDescriptionInit): Promise<unknown>;
  setRemoteDescription(description: SessionDescriptionInit): Promise<unknown>;
  addIceCandidate(candidate: IceCandidateInit): Promise<unknown>;
  createDataChannel(label: string, options: { ordered: boolean }): DataChannelLike;
  close(): unknown;
  // Event objects differ between stacks; the connector reads only `candidate` and `channel`.
  // biome-ignore lint/suspicious/noExplicitAny: the event type is declared loosely on purpose (above)
  addEventListener(type: string, listener: (event: any) => void): void;
}

/** Makes a peer connection. Injected so that core never names a runtime's WebRTC stack. */
export type PeerConnectionFactory = (configuration: { iceServers: IceServer[] }) => PeerConnectionLike;

export interface WebRtcOptions {
  /** The initiator creates the offer and the data channel; the responder answers. */
  role: "initiator" | "responder";
  peerConnection: PeerConnectionFactory;
  /** Delivers a signal to the other side, in order. Signals from it go to WebRtcAttempt.receive(). */
  signaling: { send(signal: WebRtcSignal): void };
  /** STUN and TURN servers. Default none: host candidates only. */
  iceServers?: IceServer[];
  /** Which local and remote ICE candidates to use; all of them by default. */
  candidateFilter?: CandidateFilter;
  /** Milliseconds from start until the data channel is open. Default 15 s. */
  timeout?: number;
  signal?: AbortSignal;
  /** Names the other side in logs. Default "webrtc". */
  remote?: string;
  /** Data channel label. Default "iris". */
  label?: string;
  /** Tuning of the link's framing and flow control. */
  link?: Omit<DataChannelLinkOptions, "onFinished" | "remote">;
  /**
   * Called with the remote description's DTLS fingerprints before it is applied; throw to refuse it
   * (the attempt then fails). This is where an authenticated signaling layer pins the peer's certificate.
   */
  checkRemote?: (fingerprints: string[], sdp: string) => void | Promise<void>;
}

export const WEBRTC_DEFAULTS = { timeout: 15_000, label: "iris" } as const;

/** One attempt to open a direct link. Starts at once; `link` settles when it is open or has failed. */
export class WebRtcAttempt {
  readonly link: Promise<DataChannelLink>;
  private readonly pc: PeerConnectionLike;
  private resolveLink!: (link: DataChannelLink) => void;
  private rejectLink!: (error: Error) => void;
  private channelLink: DataChannelLink | null = null;
  private settled = false;
  private tornDown = false;
  private tasks: Promise<void> = Promise.resolve();
  private readonly timer: ReturnType<typeof setTimeout>;
  private haveRemoteDescription = false;
  private readonly heldRemoteCandidates: IceCandidateInit[] = [];
  private localDescriptionSent = false;
  private readonly heldLocalSignals: WebRtcSignal[] = [];
  private readonly signaledCandidates = new Set<string>();
  private endOfCandidatesSent = false;
  private local: string[] = [];
  private remoteFingerprintList: string[] = [];

  constructor(private readonly options: WebRtcOptions) {
    this.link = new Promise<DataChannelLink>((resolve, reject) => {
      this.resolveLink = resolve;
      this.rejectLink = reject;
    });
    // Nobody may be awaiting yet (a responder is created before anything can fail); keep Node quiet.
    this.link.catch(() => {});
    // First, so that a factory that throws leaves no timer behind.
    this.pc = options.peerConnection({ iceServers: options.iceServers ?? [] });
    const timeout = options.timeout ?? WEBRTC_DEFAULTS.timeout;
    this.timer = setTimeout(() => this.fail(new TimeoutError(`webrtc: no data channel within ${timeout} ms`)), timeout);
    this.pc.addEventListener(
      "icecandidate",
      (event: { candidate?: { candidate?: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null }) =>
        this.onLocalCandidate(event.candidate ?? null),
    );
    this.pc.addEventListener("connectionstatechange", () => this.onConnectionState());
    this.pc.addEventListener("datachannel", (event: { channel: DataChannelLike }) => this.adopt(event.channel));
    const abortSignal = options.signal;
    if (abortSignal?.aborted) {
      queueMicrotask(() => this.abort(`aborted: ${String(abortSignal.reason)}`));
    } else {
      abortSignal?.addEventListener("abort", () => this.abort(`aborted: ${String(abortSignal.reason)}`), {
        once: true,
      });
    }
    if (options.role === "initiator") {
      this.adopt(this.pc.createDataChannel(options.label ?? WEBRTC_DEFAULTS.label, { ordered: true }));
      this.run(() => this.offer());
    }
  }

  /** The DTLS fingerprints in the description we sent; empty until it is sent. */
  get localFingerprints(): readonly string[] {
    return this.local;
  }

  /** The DTLS fingerprints in the description the other side sent; empty until it arrives. */
  get remoteFingerprints(): readonly string[] {
    return this.remoteFingerprintList;
  }

  /**
   * Hands over a signal from the other side, as received (after unsealing and JSON.parse): it is checked
   * with parseSignal, and a malformed one fails the attempt. Signals are processed in the order received.
   */
  receive(signal: unknown): void {
    if (this.settled) return;
    let checked: WebRtcSignal;
    try {
      checked = parseSignal(signal);
    } catch (error) {
      return this.fail(asError(error));
    }
    this.run(() => this.handle(checked));
  }

  /** Gives up: the other side is told, and `link` rejects with ClosedError. */
  abort(reason = "aborted"): void {
    this.fail(new ClosedError(`webrtc: ${reason}`));
  }

  private run(task: () => Promise<void>): void {
    this.tasks = this.tasks
      .then(() => (this.settled ? undefined : task()))
      .catch((error: unknown) => this.fail(asError(error)));
  }

  private async offer(): Promise<void> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription({ type: "offer", sdp: offer.sdp ?? "" });
    this.sendDescription("offer");
  }

  private async handle(signal: WebRtcSignal): Promise<void> {
    switch (signal.type) {
      case "offer":
      case "answer": {
        const expected = this.options.role === "responder" ? "offer" : "answer";
        if (signal.type !== expected || this.haveRemoteDescription) {
          throw new ProtocolError(`webrtc: unexpected ${signal.type} for the ${this.options.role}`);
        }
        const fingerprints = extractFingerprints(signal.sdp);
        if (fingerprints.length === 0) throw new ProtocolError(`webrtc: ${signal.type} without a DTLS fingerprint`);
        await this.options.checkRemote?.(fingerprints, signal.sdp);
        this.remoteFingerprintList = fingerprints;
        const sdp = filterSdpCandidates(signal.sdp, this.options.candidateFilter, "remote");
        await this.pc.setRemoteDescription({ type: signal.type, sdp });
        this.haveRemoteDescription = true;
        for (const candidate of this.heldRemoteCandidates.splice(0)) await this.addCandidate(candidate);
        if (signal.type === "offer") {
          const answer = await this.pc.createAnswer();
          await this.pc.setLocalDescription({ type: "answer", sdp: answer.sdp ?? "" });
          this.sendDescription("answer");
        }
        return;
      }
      case "candidate": {
        const info = parseCandidate(signal.candidate);
        if (!info) throw new ProtocolError("webrtc: malformed ICE candidate");
        if (this.options.candidateFilter && !this.options.candidateFilter(info, "remote")) return;
        const init = { candidate: signal.candidate, sdpMid: signal.sdpMid, sdpMLineIndex: signal.sdpMLineIndex };
        if (this.haveRemoteDescription) await this.addCandidate(init);
        else this.heldRemoteCandidates.push(init);
        return;
      }
      case "end-of-candidates":
        // Only lets ICE give up sooner; stacks differ in how they take it, so a refusal is harmless.
        if (this.haveRemoteDescription)
          await this.pc.addIceCandidate({ candidate: "", sdpMid: null, sdpMLineIndex: null }).catch(() => {});
        return;
      case "abort":
        this.fail(new ClosedError(`webrtc: the other side gave up: ${signal.reason}`), false);
        return;
    }
  }

  private async addCandidate(candidate: IceCandidateInit): Promise<void> {
    // One bad candidate must not sink the attempt: others may still work.
    await this.pc.addIceCandidate(candidate).catch(() => {});
  }

  private sendDescription(type: "offer" | "answer"): void {
    const description = this.pc.localDescription;
    if (!description) throw new Error("webrtc: no local description after setting it");
    const sdp = filterSdpCandidates(description.sdp, this.options.candidateFilter, "local");
    this.local = extractFingerprints(sdp);
    this.options.signaling.send({ type, sdp });
    this.localDescriptionSent = true;
    const inDescription = sdpCandidates(sdp);
    for (const candidate of inDescription) this.signaledCandidates.add(candidate);
    for (const signal of this.heldLocalSignals.splice(0)) {
      // Held candidates may have made it into the description itself.
      if (signal.type === "candidate" && inDescription.has(signal.candidate)) continue;
      this.options.signaling.send(signal);
    }
  }

  private onLocalCandidate(
    candidate: { candidate?: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null,
  ): void {
    if (this.settled) return;
    if (!candidate?.candidate) {
      if (this.endOfCandidatesSent) return;
      this.endOfCandidatesSent = true;
      return this.signal({ type: "end-of-candidates" });
    }
    const text = candidate.candidate.trim();
    const info = parseCandidate(text);
    if (!info || this.signaledCandidates.has(text)) return;
    if (this.options.candidateFilter && !this.options.candidateFilter(info, "local")) return;
    this.signaledCandidates.add(text);
    this.signal({
      type: "candidate",
      candidate: text,
      sdpMid: candidate.sdpMid ?? null,
      sdpMLineIndex: candidate.sdpMLineIndex ?? null,
    });
  }

  /** Candidates can appear before the description is sent (werift gathers inside setLocalDescription). */
  private signal(signal: WebRtcSignal): void {
    if (this.localDescriptionSent) this.options.signaling.send(signal);
    else this.heldLocalSignals.push(signal);
  }

  private adopt(channel: DataChannelLike): void {
    if (this.channelLink) {
      // Only one channel per attempt; a second one is not ours to use.
      channel.close();
      return;
    }
    const link = new DataChannelLink(channel, {
      ...this.options.link,
      remote: this.options.remote ?? "webrtc",
      onFinished: () => this.teardown(),
    });
    this.channelLink = link;
    const opened = () => {
      if (this.settled) return;
      this.settled = true;
      clearTimeout(this.timer);
      // Known only now: the initiator made its channel before it saw the other end's description.
      const negotiated = this.pc.sctp?.maxMessageSize;
      if (negotiated !== undefined) link.fitMessagesTo(negotiated);
      this.resolveLink(link);
    };
    channel.addEventListener("open", opened);
    if (channel.readyState === "open") opened();
  }

  private onConnectionState(): void {
    const state = this.pc.connectionState;
    if (state !== "failed" && state !== "closed") return;
    if (!this.settled) this.fail(new ClosedError(`webrtc: peer connection ${state} before the data channel opened`));
    else this.channelLink?.terminate(`peer connection ${state}`);
  }

  private fail(error: Error, tellRemote = true): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (tellRemote) {
      try {
        this.options.signaling.send({ type: "abort", reason: error.message.slice(0, 200) });
      } catch {
        // The signaling path is gone too; the other side times out on its own.
      }
    }
    this.channelLink?.terminate(error.message);
    this.teardown();
    this.rejectLink(error);
  }

  private teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    clearTimeout(this.timer);
    try {
      // werift's close() returns a promise; browsers' returns nothing.
      Promise.resolve(this.pc.close()).catch(() => {});
    } catch {
      // Closing twice, or a stack that throws on close: nothing more to release.
    }
  }
}

/** Starts opening a direct link; feed the other side's signals to the returned attempt's receive(). */
export function connectWebRtc(options: WebRtcOptions): WebRtcAttempt {
  return new WebRtcAttempt(options);
}
