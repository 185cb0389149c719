// The options of Node's direct links through werift, apart from the module that imports werift: the
// public types must not need werift, an optional dependency, to be installed to type-check.

/**
 * How a Node peer's direct links use werift (Node's WebRTC stack): the addresses to gather and keep to.
 *
 * @example
 * ```ts
 * // Keep direct links on loopback, as this project's tests do.
 * const conn = await connect({
 *   relays,
 *   keys,
 *   webrtc: { candidateFilter: onlyAddresses(["127.0.0.1"]), werift: { additionalHostAddresses: ["127.0.0.1"] } },
 * });
 * ```
 */
export interface WeriftOptions {
  /**
   * Host addresses to gather candidates on besides the machine's interfaces; werift skips loopback by
   * itself, so tests pass ["127.0.0.1"].
   */
  additionalHostAddresses?: string[];
  /**
   * When set, ICE uses only candidate pairs whose local and remote addresses are in this list, and
   * werift answers connectivity checks only from them. Tests pass ["127.0.0.1"], so no packet goes
   * anywhere but loopback from this side. Pair it with a candidate filter in signaling.
   */
  restrictToAddresses?: string[];
  /** Gather IPv6 candidates too. Default true, as werift does. */
  useIpv6?: boolean;
  /** Anything else werift's RTCPeerConnection constructor takes; wins over the options above. */
  config?: Record<string, unknown>;
}
