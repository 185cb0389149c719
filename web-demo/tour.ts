// The short tour `npm start` prints: a client on the last relay uses every pattern once, so the first
// screen shows each working, across relay links, before anyone opens the dashboard.

import { createHash } from "node:crypto";
import { connect } from "../core/node.ts";
import { DEMO_SERVICES } from "./demo-peers.ts";
import { FILE_CHUNK, sendFile } from "./shared/file-transfer.ts";

const TOUR_FILE_BYTES = 1024 * 1024;

export async function tour(relay: string, say: (line: string) => void): Promise<void> {
  const client = await connect({ relays: [relay], development: true, agent: "node tour" });
  try {
    for (let i = 1; i <= 3; i++) {
      const started = performance.now();
      const reply = new TextDecoder().decode(
        await client.request(DEMO_SERVICES.echo, `hello #${i}`, { timeout: 10_000 }),
      );
      say(`request -> ${reply} (${(performance.now() - started).toFixed(1)} ms)`);
    }
    await client.broadcast(DEMO_SERVICES.echo, "a broadcast to every member");

    let onTick: (text: string) => void = () => {};
    const ticked = new Promise<string>((resolve, reject) => {
      onTick = resolve;
      setTimeout(() => reject(new Error("no tick within 5 s")), 5000).unref();
    });
    const subscription = await client.subscribe(DEMO_SERVICES.ticks, (body) => onTick(new TextDecoder().decode(body)));
    const tick = await ticked;
    await subscription.unsubscribe();
    say(`subscribe -> ${tick}`);

    const file = new Uint8Array(TOUR_FILE_BYTES);
    for (let i = 0; i < file.length; i++) file[i] = (i * 31 + (i >> 12)) & 0xff;
    const chunks = Array.from({ length: file.length / FILE_CHUNK }, (_, i) =>
      file.subarray(i * FILE_CHUNK, (i + 1) * FILE_CHUNK),
    );
    const tunnel = await client.tunnel(DEMO_SERVICES.files, { timeout: 10_000 });
    const receipt = await sendFile(
      tunnel,
      { name: "tour.bin", size: file.length, type: "application/octet-stream" },
      chunks,
    );
    const sent = createHash("sha256").update(file).digest("hex");
    const verdict = receipt.sha256 === sent ? "hashes match" : "HASHES DIFFER";
    say(
      `tunnel -> sent 1 MiB to the files cluster over the ${tunnel.route} route; ${receipt.by} hashed it: ${verdict}`,
    );
  } finally {
    await client.close();
  }
}
