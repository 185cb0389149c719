// The README's first command: `npm start` brings up a backbone of relays, the demo peers and the
// dashboard on local defaults, shows every pattern working, and stops cleanly on Ctrl-C.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "../../core/node.ts";
import type { RelaySnapshot } from "../../core/node.ts";

test("npm start runs the relays, the demo and the dashboard, and stops cleanly on SIGINT", async () => {
  // Port 0 so the test never collides with a demo someone left running on 7600: every relay and the
  // dashboard take free ports.
  const child = spawn("npm", ["start", "--silent"], {
    env: { ...process.env, IRIS_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let relays: string[] = [];
  let dashboard = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not come up:\n${output}`)), 60_000);
      child.stdout.on("data", () => {
        if (!output.includes("Press Ctrl-C to stop.")) return;
        clearTimeout(timer);
        resolve();
      });
      exited.then(() => reject(new Error(`demo exited early:\n${output}`)));
    });
    assert.match(output, /request -> echo-member-\d .* heard: hello #1/);
    assert.match(output, /echo-member-1 got a broadcast/);
    assert.match(output, /subscribe -> \{"tick":\d+/);
    assert.match(output, /files member received 1048576 bytes/);
    assert.match(output, /tunnel -> sent 1 MiB to the files cluster .*hashes match/);

    relays = /Relays: (.+)/.exec(output)![1]!.trim().split(/\s+/);
    assert.equal(relays.length, 3, `three relays: ${relays.join(" ")}`);
    for (const relay of relays) assert.match(relay, /^ws:\/\/127\.0\.0\.1:\d+$/);
    dashboard = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)![1]!;

    // A backbone: every relay links to another, and the last one knows them all.
    const statuses = await Promise.all(relays.map((relay) => status(relay)));
    for (const report of statuses) assert.ok(report.links.length >= 1, `relay ${report.address} has no relay link`);
    const lastKnows = new Set([statuses.at(-1)!.relayId, ...statuses.at(-1)!.directory.map((entry) => entry.relayId)]);
    for (const report of statuses)
      assert.ok(lastKnows.has(report.relayId), `the last relay does not know ${report.address}`);

    // The dashboard: its page, and the config that tells the page where the relays are.
    const page = await fetch(dashboard);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>iris-mesh dashboard<\/title>/);
    const config = (await (await fetch(new URL("iris-config.json", dashboard))).json()) as { relays: string[] };
    assert.deepEqual(config.relays, relays);

    // Anyone in development mode can use the demo's services, from any relay.
    const visitor = await connect({ relays: [relays.at(-1)!], development: true });
    try {
      assert.match(
        new TextDecoder().decode(await visitor.request("echo", "visitor", { timeout: 5000 })),
        /heard: visitor/,
      );
    } finally {
      await visitor.close();
    }
  } finally {
    process.kill(-child.pid!, "SIGINT");
  }
  // Like Ctrl-C in a terminal, the signal reaches npm too, which exits by it; the demo itself must
  // have shut down in order, leaving nothing listening.
  const code = await exited;
  assert.ok(code === 0 || child.signalCode === "SIGINT", `demo exit: ${code} ${child.signalCode}\n${output}`);
  assert.match(output, /stopping\.\.\./);
  assert.doesNotMatch(output, /demo failed|Error:/);
  for (const relay of relays) {
    await assert.rejects(connect({ relays: [relay], development: true, connectTimeout: 1500 }), /could not attach/);
  }
  await assert.rejects(fetch(dashboard), /fetch failed/);
});

/** A relay's report, as a peer attached to it asks for it (the demo's relays have no admin listener). */
async function status(relay: string): Promise<RelaySnapshot> {
  const visitor = await connect({ relays: [relay], development: true });
  try {
    return await visitor.inspect();
  } finally {
    await visitor.close();
  }
}
