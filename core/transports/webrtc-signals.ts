// What two peers exchange to set up a WebRTC data channel, as plain JSON-friendly objects, so the
// signaling layer can seal them and route them through relays. Also the SDP and candidate helpers that
// act on them: candidate filtering (tests, and deployments that must stay on some networks) and the DTLS
// fingerprint, which the signaling layer binds to the peer's identity.

import { ProtocolError } from "../errors.ts";

/** One signaling message. Everything is a string or a number: serialize it any way you like. */
export type WebRtcSignal =
  | { type: "offer"; sdp: string }
  | { type: "answer"; sdp: string }
  /** A trickled ICE candidate: the `candidate` attribute value ("candidate:..."), as browsers give it. */
  | { type: "candidate"; candidate: string; sdpMid: string | null; sdpMLineIndex: number | null }
  /** No more candidates will follow from this side. */
  | { type: "end-of-candidates" }
  /** The sender gave up on this attempt (timeout, error, abort); the receiver should too. */
  | { type: "abort"; reason: string };

export type WebRtcSignalType = WebRtcSignal["type"];

/** Bounds on what a peer may send us, so a hostile signal cannot make us parse megabytes. */
export const SIGNAL_LIMITS = { sdp: 64 * 1024, candidate: 1024, mid: 64, reason: 256 } as const;

/**
 * Checks a signal that came from the network (after unsealing and JSON.parse) and returns it in its
 * exact shape, dropping unknown fields. Throws ProtocolError for anything malformed.
 */
export function parseSignal(value: unknown): WebRtcSignal {
  if (typeof value !== "object" || value === null) throw new ProtocolError("signal: not an object");
  const input = value as Record<string, unknown>;
  switch (input.type) {
    case "offer":
    case "answer":
      return { type: input.type, sdp: text(input.sdp, "sdp", SIGNAL_LIMITS.sdp) };
    case "candidate": {
      const candidate = text(input.candidate, "candidate", SIGNAL_LIMITS.candidate);
      if (!parseCandidate(candidate)) throw new ProtocolError("signal: malformed ICE candidate");
      const mid = input.sdpMid ?? null;
      const index = input.sdpMLineIndex ?? null;
      if (mid !== null) text(mid, "sdpMid", SIGNAL_LIMITS.mid);
      if (index !== null && !(Number.isInteger(index) && (index as number) >= 0 && (index as number) < 1024)) {
        throw new ProtocolError("signal: sdpMLineIndex must be a small integer");
      }
      return { type: "candidate", candidate, sdpMid: mid as string | null, sdpMLineIndex: index as number | null };
    }
    case "end-of-candidates":
      return { type: "end-of-candidates" };
    case "abort":
      return { type: "abort", reason: text(input.reason ?? "", "reason", SIGNAL_LIMITS.reason) };
    default:
      // Not String(input.type): JSON.parse can make {"toString": 1}, which String() throws a TypeError on.
      throw new ProtocolError(
        `signal: unknown type ${typeof input.type === "string" ? JSON.stringify(input.type).slice(0, 40) : typeof input.type}`,
      );
  }
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== "string") throw new ProtocolError(`signal: ${field} must be a string`);
  if (value.length > max) throw new ProtocolError(`signal: ${field} longer than ${max} characters`);
  return value;
}

/** The fields of an ICE candidate that a filter may look at (RFC 8839 section 5.1). */
export interface IceCandidateInfo {
  /** Identifies candidates of one base and type (RFC 8445). */
  foundation: string;
  /** 1 for RTP (and data channels), 2 for RTCP. */
  component: number;
  /** "udp" or "tcp", lower case. */
  protocol: string;
  /** Higher is preferred. */
  priority: number;
  /** An IP address, or a hostname such as Chromium's "<uuid>.local" mDNS names. */
  address: string;
  /** The UDP or TCP port. */
  port: number;
  /** "host", "srflx", "prflx" or "relay". */
  type: string;
}

const CANDIDATE = /^(?:a=)?candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)/i;

/** Parses "candidate:..." (or an SDP "a=candidate:..." line); null if it is not one. */
export function parseCandidate(line: string): IceCandidateInfo | null {
  const match = CANDIDATE.exec(line.trim());
  if (!match) return null;
  return {
    foundation: match[1]!,
    component: Number(match[2]),
    protocol: match[3]!.toLowerCase(),
    priority: Number(match[4]),
    address: match[5]!,
    port: Number(match[6]),
    type: match[7]!.toLowerCase(),
  };
}

/**
 * Decides which ICE candidates to use: `local` ones before they are signaled to the other side,
 * `remote` ones before they are given to our peer connection. Return false to drop one.
 */
export type CandidateFilter = (candidate: IceCandidateInfo, origin: "local" | "remote") => boolean;

/**
 * A candidate filter that keeps only candidates on the given addresses, e.g. to hold direct links to
 * loopback in tests or to a private network.
 *
 * @example
 * ```ts
 * const conn = await connect({ relays, keys, webrtc: { candidateFilter: onlyAddresses(["127.0.0.1"]) } });
 * ```
 */
export function onlyAddresses(addresses: readonly string[]): CandidateFilter {
  const allowed = new Set(addresses.map((address) => address.toLowerCase()));
  return (candidate) => allowed.has(candidate.address.toLowerCase());
}

/** Removes the `a=candidate` lines the filter rejects (some stacks put candidates in the SDP itself). */
export function filterSdpCandidates(
  sdp: string,
  filter: CandidateFilter | undefined,
  origin: "local" | "remote",
): string {
  if (!filter) return sdp;
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = sdp.split(/\r?\n/);
  const kept = lines.filter((line) => {
    if (!line.startsWith("a=candidate:")) return true;
    const candidate = parseCandidate(line);
    return candidate !== null && filter(candidate, origin);
  });
  return kept.join(eol);
}

/** The candidate attribute values already in an SDP, so they are not trickled a second time. */
export function sdpCandidates(sdp: string): Set<string> {
  const found = new Set<string>();
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith("a=candidate:")) found.add(line.slice(2).trim());
  }
  return found;
}

/**
 * The DTLS certificate fingerprints an SDP announces, as "<hash> <HEX:PAIRS>" with the hash name in lower
 * case and the digest in upper case (session- and media-level lines alike, deduplicated, in order).
 * Whoever authenticates the signaling can compare these with the ones the peer proved it holds.
 */
export function extractFingerprints(sdp: string): string[] {
  const found: string[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    const match = /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/.exec(line);
    if (!match) continue;
    const value = `${match[1]!.toLowerCase()} ${match[2]!.toUpperCase()}`;
    if (!found.includes(value)) found.push(value);
  }
  return found;
}
