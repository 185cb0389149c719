// `npm start`: the main job on local defaults. It starts a relay on ws://127.0.0.1:7600 (IRIS_PORT to
// change it) and the demo peers, shows a client using every pattern once, and runs until Ctrl-C.

import { connect } from "../core/node.ts";
import { parseConfig } from "../relay-server/config.ts";
import { lineLogger } from "../relay-server/log.ts";
import { startRelayServer } from "../relay-server/server.ts";
import { DEMO_SERVICES, startDemoPeers } from "./demo-peers.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const config = parseConfig([], { IRIS_LOG: "quiet", ...process.env });
  if (config === "help") return;
  const relay = await startRelayServer(config, lineLogger(say, config.logLevel));
  const peers = await startDemoPeers([relay.url], (line) => say(`  [demo] ${line}`));

  say("");
  say(`iris-mesh demo is up. Relay: ${relay.url}`);
  say("Services (development keys, INSECURE, derived from the names):");
  say(`  cluster "${DEMO_SERVICES.echo}"  three members answering requests`);
  say(`  topic   "${DEMO_SERVICES.ticks}" a tick every second`);
  say(`  cluster "${DEMO_SERVICES.files}" a member hashing what tunnels bring`);
  say("");

  // A short tour, so the first screen shows every pattern working.
  const client = await connect({ relays: [relay.url], development: true, agent: "demo-client" });
  for (let i = 1; i <= 3; i++) {
    const started = performance.now();
    const reply = new TextDecoder().decode(await client.request(DEMO_SERVICES.echo, `hello #${i}`));
    say(`request -> ${reply} (${(performance.now() - started).toFixed(1)} ms)`);
  }
  await client.broadcast(DEMO_SERVICES.echo, "a broadcast to every member");
  const tick = await new Promise<string>((resolve) => {
    client.subscribe(DEMO_SERVICES.ticks, (body) => resolve(new TextDecoder().decode(body))).catch(() => {});
  });
  say(`subscribe -> ${tick}`);
  const tunnel = await client.tunnel(DEMO_SERVICES.files);
  for (let i = 0; i < 16; i++) await tunnel.send(new Uint8Array(64 * 1024).fill(i));
  await tunnel.close();
  say("tunnel -> sent 1 MiB to the files cluster");
  await client.close();
  say("");
  say("Press Ctrl-C to stop.");

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say("stopping...");
    await peers.stop();
    await relay.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
