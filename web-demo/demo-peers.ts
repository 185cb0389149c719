// The demo's Node peers: a cluster of three members answering requests, a topic with a ticking
// publisher, and a member that accepts files through tunnels. They use development keys derived from
// the service names (INSECURE by design) so anything else in development mode, the dashboard included,
// can talk to them without setup. They are spread over the relays, so the dashboard's topology shows
// traffic crossing relay links.

import { createHash } from "node:crypto";
import { connect } from "../core/node.ts";
import type { Connection, Tunnel } from "../core/node.ts";
import { parseHeader, receiveFile } from "./shared/file-transfer.ts";
import type { Hasher } from "./shared/file-transfer.ts";

export const DEMO_SERVICES = {
  /** Request/reply and broadcast: three members, balanced by load. */
  echo: "echo",
  /** Publish/subscribe: a tick every second. */
  ticks: "ticks",
  /** Tunnels: the member hashes the file it is sent and answers with the SHA-256. */
  files: "files",
} as const;

export interface DemoPeers {
  readonly connections: Connection[];
  stop(): Promise<void>;
}

/** Starts the peers, the n-th on relay n modulo the number of relays; each fails over to the others. */
export async function startDemoPeers(relays: string[], log: (line: string) => void): Promise<DemoPeers> {
  if (relays.length === 0) throw new TypeError("startDemoPeers: no relay");
  const connections: Connection[] = [];
  const start = async (agent: string) => {
    const relay = relays[connections.length % relays.length]!;
    // One relay each: the peer learns the others from it, so it still fails over.
    const connection = await connect({ relays: [relay], development: true, agent: `node ${agent}` });
    connections.push(connection);
    return connection;
  };

  for (let i = 1; i <= 3; i++) {
    const name = `echo-member-${i}`;
    const member = await start(name);
    await member.register(DEMO_SERVICES.echo, {
      // The name is the one the dashboard shows for this peer (its agent), so answers and graph agree.
      request: (body) => `${name} heard: ${new TextDecoder().decode(body)}`,
      broadcast: (body) => log(`${name} got a broadcast: ${new TextDecoder().decode(body)}`),
    });
  }

  const fileMember = await start("files");
  await fileMember.register(DEMO_SERVICES.files, {
    tunnel: (tunnel) => serveFile(tunnel, log),
    request: () => "files says: send files through a tunnel to this cluster",
  });

  const publisher = await start("ticker");
  let tick = 0;
  const ticker = setInterval(() => {
    publisher
      .publish(DEMO_SERVICES.ticks, JSON.stringify({ tick: ++tick, at: new Date().toISOString() }))
      .catch(() => {});
  }, 1000);

  return {
    connections,
    stop: async () => {
      clearInterval(ticker);
      await Promise.all(connections.map((connection) => connection.close()));
    },
  };
}

/** A file announced by a header gets a receipt with its SHA-256; a plain byte stream is just hashed. */
async function serveFile(tunnel: Tunnel, log: (line: string) => void): Promise<void> {
  try {
    const first = await tunnel.receive();
    if (first === null) return;
    const header = parseHeader(first);
    if (header) {
      const receipt = await receiveFile(tunnel, header, nodeHasher(), "files member (Node)");
      log(`files member received ${receipt.bytes} bytes through a tunnel: "${header.name}" sha256 ${receipt.sha256}`);
      return;
    }
    const hash = createHash("sha256").update(first);
    let bytes = first.length;
    for await (const chunk of tunnel) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    log(`files member received ${bytes} bytes through a tunnel: sha256 ${hash.digest("hex")}`);
  } catch (error) {
    log(`files member: a transfer failed: ${(error as Error).message}`);
  }
}

function nodeHasher(): Hasher {
  const hash = createHash("sha256");
  return {
    update: (bytes) => void hash.update(bytes),
    digest: async () => hash.digest("hex"),
  };
}
