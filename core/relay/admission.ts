// What a new link goes through before it may say hello: the per-address limits, the network-key
// handshake on a closed backbone, and the challenge with its deadline. A flood of links or of
// half-finished handshakes from one address must cost that address, not everyone else.

import { randomBytes } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import { FrameType, NONCE_BYTES, encodeFrame } from "../wire/frames.ts";
import { CloseCode } from "../transports/link.ts";
import type { Link } from "../transports/link.ts";
import { secureLink } from "../transports/secure-link.ts";
import type { NetworkKeys } from "../transports/secure-link.ts";
import { PeerSession } from "./peer-session.ts";
import type { RelayLog, RelaySettings } from "./relay-options.ts";
import type { RelayStats } from "./relay-stats.ts";
import type { FlowControl } from "./flow-control.ts";

interface AddressCounts {
  open: number;
  handshaking: number;
}

export interface AdmissionHost {
  relayId: Uint8Array;
  clock: Clock;
  settings: RelaySettings;
  networkKeys: NetworkKeys | null;
  log: RelayLog;
  stats: RelayStats;
  flow: FlowControl;
  /** Closed: no link is taken any more, not even one already past the network-key handshake. */
  isClosed(): boolean;
  isDraining(): boolean;
  /** A session was made for a link; the challenge follows. */
  sessionOpened(session: PeerSession): void;
  sessionFrame(session: PeerSession, bytes: Uint8Array): void;
  /** The link's outbound buffer emptied (flow control). */
  sessionDrained(session: PeerSession): void;
  sessionClosed(session: PeerSession, code: number, reason: string): void;
}

export class Admission {
  private readonly byAddress = new Map<string, AddressCounts>();

  constructor(private readonly host: AdmissionHost) {}

  /**
   * Takes a new link (from a peer, or from a relay that dialed us) and starts its handshake. `address`
   * names where it comes from (an IP address) for the per-address limits; links without one are not
   * counted (in-memory links in tests, say).
   */
  accept(link: Link, address?: string): void {
    const { settings, networkKeys } = this.host;
    if (this.host.isClosed() || this.host.isDraining()) {
      link.close(this.host.isClosed() ? CloseCode.GoingAway : CloseCode.Draining, "relay is shutting down");
      return;
    }
    const counts = address === undefined ? null : this.countsOf(address);
    if (
      counts &&
      (counts.open >= settings.maxLinksPerAddress || counts.handshaking >= settings.maxHandshakesPerAddress)
    ) {
      const what = counts.open >= settings.maxLinksPerAddress ? "links" : "handshakes in progress";
      this.host.stats.refuse("address-limit");
      this.host.log("address-limit", { address: address!, what });
      link.close(CloseCode.Limit, `too many ${what} from this address`);
      return;
    }
    if (counts) {
      counts.open++;
      counts.handshaking++;
    }
    if (!networkKeys) return this.startSession(link, counts, address);
    // A closed backbone: the link must prove the network key first, and is sealed from then on.
    secureLink(link, {
      role: "responder",
      keys: networkKeys,
      clock: this.host.clock,
      timeoutMs: settings.handshakeTimeoutMs,
    }).then(
      (secured) => this.startSession(secured, counts, address),
      (error: Error) => {
        this.host.stats.refuse("network-key");
        this.host.log("network-key-refused", { remote: link.remote, reason: error.message });
        if (counts) {
          counts.handshaking--;
          counts.open--;
          if (counts.open === 0) this.byAddress.delete(address!);
        }
      },
    );
  }

  /**
   * Asked when a connection from `address` is accepted, before anything is done with it: true to drop
   * it, when that address already has as many handshakes in progress as it may. A flood of connections
   * then costs an accept each, no HTTP and no WebSocket handshake (the links-per-address limit is told
   * after the upgrade, where the peer reads the reason).
   */
  refuses(address: string): boolean {
    const counts = this.byAddress.get(address);
    if (!counts || counts.handshaking < this.host.settings.maxHandshakesPerAddress) return false;
    this.host.stats.refuse("address-limit");
    return true;
  }

  private startSession(link: Link, counts: AddressCounts | null, address: string | undefined): void {
    const { clock, settings } = this.host;
    if (this.host.isClosed()) {
      link.close(CloseCode.GoingAway, "relay is shutting down");
      return;
    }
    const session = new PeerSession(
      link,
      randomBytes(NONCE_BYTES),
      clock.now(),
      settings.outboundQueueLimit,
      settings.slowConsumer,
      (slow, queued) => this.host.log("slow-consumer", { peer: slow.label, queued, policy: settings.slowConsumer }),
      this.host.stats,
      this.host.flow,
    );
    this.host.sessionOpened(session);
    const handshakeTimer = clock.setTimeout(() => {
      if (session.state !== "challenged") return;
      this.host.stats.refuse("handshake-timeout");
      session.close(CloseCode.HandshakeTimeout, "handshake timed out");
    }, settings.handshakeTimeoutMs);
    session.onHandshakeDone = () => {
      if (counts) counts.handshaking--;
    };
    link.listen({
      frame: (bytes) => this.host.sessionFrame(session, bytes),
      drain: () => this.host.sessionDrained(session),
      close: (code, reason) => {
        clock.clearTimeout(handshakeTimer);
        if (counts) {
          if (session.onHandshakeDone) counts.handshaking--;
          counts.open--;
          if (counts.open === 0) this.byAddress.delete(address!);
        }
        this.host.sessionClosed(session, code, reason);
      },
    });
    session.send(encodeFrame({ type: FrameType.Challenge, relayId: this.host.relayId, nonce: session.challenge }));
  }

  private countsOf(address: string): AddressCounts {
    let counts = this.byAddress.get(address);
    if (!counts) this.byAddress.set(address, (counts = { open: 0, handshaking: 0 }));
    return counts;
  }
}
