// What Chromium's own statistics say about the page's peer connections, for the webrtc scenario's round
// lines: the ICE pair in use (both addresses) and the packets Chromium dropped on send. A transfer that
// stalls for seconds with packets discarded on send is SCTP waiting out retransmission timeouts, not
// iris-mesh or the raw channel's code. The page records every RTCPeerConnection it makes, iris-mesh's
// direct links included, by wrapping the constructor once at load (this page only, never the library).

const made: RTCPeerConnection[] = [];

export function recordPeerConnections(): void {
  const Original = window.RTCPeerConnection;
  const Recorded = function (this: unknown, configuration?: RTCConfiguration) {
    const connection = new Original(configuration);
    made.push(connection);
    return connection;
  } as unknown as typeof RTCPeerConnection;
  Recorded.prototype = Original.prototype;
  Object.setPrototypeOf(Recorded, Original);
  window.RTCPeerConnection = Recorded;
}

export interface PairStats {
  /** "host 192.0.2.2:40000 udp -> host 127.0.0.1:50000", as Chromium names the pair's candidates. */
  pair: string;
  packetsSent: number;
  packetsDiscardedOnSend: number;
}

/** The selected pair of every connected peer connection of this page. */
export async function peerStats(): Promise<PairStats[]> {
  const out: PairStats[] = [];
  for (const connection of made) {
    if (connection.connectionState !== "connected") continue;
    const report = await connection.getStats();
    const byId = new Map<string, Record<string, unknown>>();
    report.forEach((entry: Record<string, unknown>) => {
      byId.set(entry.id as string, entry);
    });
    for (const entry of byId.values()) {
      if (entry.type !== "transport" || typeof entry.selectedCandidatePairId !== "string") continue;
      const pair = byId.get(entry.selectedCandidatePairId);
      if (!pair) continue;
      const local = byId.get(pair.localCandidateId as string);
      const remote = byId.get(pair.remoteCandidateId as string);
      const name = (candidate: Record<string, unknown> | undefined) =>
        candidate ? `${candidate.candidateType} ${candidate.address ?? "?"}:${candidate.port}` : "?";
      out.push({
        pair: `${name(local)} ${local?.protocol ?? "?"} -> ${name(remote)}`,
        packetsSent: Number(pair.packetsSent ?? 0),
        packetsDiscardedOnSend: Number(pair.packetsDiscardedOnSend ?? 0),
      });
    }
  }
  return out;
}
