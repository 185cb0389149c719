// The README's first command: `npm start` brings up a relay and the demo peers on local defaults,
// shows every pattern working, and stops cleanly on Ctrl-C.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "../../core/node.ts";

test("npm start runs the demo and stops cleanly on SIGINT", async () => {
  // Port 0 so the test never collides with a demo someone left running on 7600.
  const child = spawn("npm", ["start", "--silent"], {
    env: { ...process.env, IRIS_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let url = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not come up:\n${output}`)), 30_000);
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

    // Anyone in development mode can use the demo's services.
    url = /Relay: (ws:\/\/\S+)/.exec(output)![1]!;
    const visitor = await connect({ relays: [url], development: true });
    try {
      assert.match(new TextDecoder().decode(await visitor.request("echo", "visitor")), /heard: visitor/);
    } finally {
      await visitor.close();
    }
  } finally {
    process.kill(-child.pid!, "SIGINT");
  }
  // Like Ctrl-C in a terminal, the signal reaches npm too, which exits by it; the demo itself must
  // have shut down in order, leaving nothing listening.
  const status = await exited;
  assert.ok(status === 0 || child.signalCode === "SIGINT", `demo exit: ${status} ${child.signalCode}\n${output}`);
  assert.match(output, /stopping\.\.\./);
  assert.doesNotMatch(output, /demo failed|Error:/);
  await assert.rejects(connect({ relays: [url], development: true, connectTimeout: 1500 }), /could not attach/);
});
