// The demo's Node peers: a cluster of three members answering requests, a topic with a ticking
// publisher, and a member that accepts tunnels. They use development keys derived from the service
// names (INSECURE by design) so anything else in development mode can talk to them without setup.

import { createHash } from "node:crypto";
import { connect } from "../core/node.ts";
import type { Connection } from "../core/node.ts";

export const DEMO_SERVICES = {
  /** Request/reply and broadcast: three members, balanced by load. */
  echo: "echo",
  /** Publish/subscribe: a tick every second. */
  ticks: "ticks",
  /** Tunnels: the member hashes whatever it is sent and answers with the SHA-256. */
  files: "files",
} as const;

export interface DemoPeers {
  readonly connections: Connection[];
  stop(): Promise<void>;
}

export async function startDemoPeers(relays: string[], log: (line: string) => void): Promise<DemoPeers> {
  const options = { relays, development: true, agent: "demo" };
  const connections: Connection[] = [];
  for (let i = 1; i <= 3; i++) {
    const member = await connect(options);
    connections.push(member);
    const name = `echo-member-${i}`;
    await member.register(DEMO_SERVICES.echo, {
      request: (body) => `${name} (${member.peerId.slice(0, 8)}) heard: ${new TextDecoder().decode(body)}`,
      broadcast: (body) => log(`${name} got a broadcast: ${new TextDecoder().decode(body)}`),
    });
  }

  const fileMember = await connect(options);
  connections.push(fileMember);
  await fileMember.register(DEMO_SERVICES.files, {
    tunnel: async (tunnel) => {
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of tunnel) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      log(`files member received ${bytes} bytes through a tunnel`);
    },
    request: () => "send files through a tunnel to this cluster",
  });

  const publisher = await connect(options);
  connections.push(publisher);
  let tick = 0;
  const ticker = setInterval(() => {
    publisher.publish(DEMO_SERVICES.ticks, JSON.stringify({ tick: ++tick, at: new Date().toISOString() })).catch(() => {});
  }, 1000);

  return {
    connections,
    stop: async () => {
      clearInterval(ticker);
      await Promise.all(connections.map((connection) => connection.close()));
    },
  };
}
