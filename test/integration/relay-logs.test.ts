// A relay process's log as an operator's pipeline sees it: JSON lines off a terminal, every record with
// a stable event name and its fields, text on a terminal, and a flood of refused links that does not
// become a flood of lines.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { connect, generateKey } from "../../core/node.ts";
import { LOG_BURST } from "../../relay-server/log.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const CLI = fileURLToPath(new URL("../../relay-server/cli.ts", import.meta.url));
const keys = { db: generateKey() };
const FLOOD = 60;

/** Opens a WebSocket and resolves with the code the relay closes it with. */
function refusedWith(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once("error", reject);
    socket.once("close", (code) => resolve(code));
  });
}

describe("relay logs", { timeout: 60_000 }, () => {
  let relay: RelayProcess;

  before(async () => {
    // One link per address: every further link from 127.0.0.1 is refused (4008) and logged.
    relay = await startRelay(["--max-links-per-address", "1"]);
  });

  after(async () => {
    await relay?.stop();
  });

  test("off a terminal every line is a JSON record with a level, a time and a stable event name", async () => {
    const member = await connect({ relays: [relay.url], keys });
    await member.register("db", { request: (body) => body });
    await relay.waitForLine(/ join .*kind=member/);
    await member.close();
    await relay.waitForLine(/ peer-left /);
    assert.deepEqual(relay.notJson, []);
    const listening = relay.records.find((record) => record.event === "relay-listening")!;
    assert.equal(listening.level, "info");
    assert.equal(listening.url, relay.url);
    assert.match(String(listening.relay), /^[0-9a-f]{32}$/);
    const joined = relay.records.find((record) => record.event === "peer-joined")!;
    assert.deepEqual([joined.level, joined.agent], ["debug", "node"]);
    for (const record of relay.records) {
      assert.match(record.event, /^[a-z]+(-[a-z]+)*$/, JSON.stringify(record));
      assert.ok(!Number.isNaN(Date.parse(record.time)), JSON.stringify(record));
      assert.ok(["debug", "info", "warn", "error"].includes(record.level), JSON.stringify(record));
    }
  });

  test("a flood of refused links writes a burst of lines and one summary, not a line per link", async () => {
    const holder = new WebSocket(relay.url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => holder.once("open", resolve).once("error", reject));
    try {
      const codes = [];
      for (let i = 0; i < FLOOD; i++) codes.push(await refusedWith(relay.url));
      assert.deepEqual(new Set(codes), new Set([4008]));
    } finally {
      holder.close();
    }
    // The metrics count every refusal, and the lines the log left out.
    const metrics = await (await fetch(`${relay.adminUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`^iris_relay_refused_total\\{reason="address-limit"\\} ${FLOOD}$`, "m"));
    assert.match(
      metrics,
      new RegExp(`^iris_relay_log_lines_suppressed_total\\{event="address-limit"\\} ${FLOOD - LOG_BURST}$`, "m"),
    );
    const stopped = await relay.stop();
    assert.equal(stopped, 0);
    const refused = relay.records.filter((record) => record.event === "address-limit");
    assert.equal(refused.length, LOG_BURST);
    const summary = relay.records.filter((record) => record.event === "log-suppressed");
    assert.equal(summary.length, 1, JSON.stringify(summary));
    assert.deepEqual(
      [summary[0]!.of, summary[0]!.lines, summary[0]!.level],
      ["address-limit", FLOOD - LOG_BURST, "warn"],
    );
    assert.equal(relay.records.at(-1)!.event, "relay-stopped");
  });
});

test("on a terminal the relay writes text for people", { timeout: 30_000 }, async (t) => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
  } catch {
    t.skip("util-linux's script(1), which gives the relay a terminal, is not installed");
    return;
  }
  // script(1) runs the relay on a pseudo-terminal and copies what it prints.
  const command = `exec ${process.execPath} --import tsx ${CLI} --port 0 --host 127.0.0.1`;
  const child = spawn("script", ["--quiet", "--return", "--command", command, "/dev/null"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, IRIS_LOG_FORMAT: "", IRIS_LOG_LEVEL: "" },
  });
  let output = "";
  child.stdout.setEncoding("utf8");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${output}`)), 20_000);
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      if (!/relay-listening/.test(output)) return;
      clearTimeout(timer);
      resolve();
    });
  });
  child.kill("SIGTERM");
  await exited;
  assert.match(output, /^\d{4}-\d\d-\d\dT\S+Z INFO {2}relay-listening url=ws:\/\/127\.0\.0\.1:\d+ /m);
  assert.doesNotMatch(output, /^\{/m);
});
