// The README's first command: `npm start` brings up a backbone of relays, each its own process, the
// demo peers and the dashboard on local defaults, shows every pattern working, lets the dashboard's
// page stop and restart a relay (and nobody else), serves the page's assets cached as immutable, leaves
// no temporary build behind, and stops everything, relays included, on Ctrl-C, on SIGTERM, and even
// when it is killed itself.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { tmpdir } from "node:os";
import { connect } from "../../core/node.ts";
import type { Connection, RelaySnapshot } from "../../core/node.ts";

const STACK = new URL("../../web-demo/stack.ts", import.meta.url).pathname;

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  relays: string[];
  dashboard: string;
}

interface RelayStatus {
  index: number;
  url: string;
  state: string;
  pid: number | null;
  lastExit: string | null;
}

/** Starts the stack (`npm start`, or its script directly) and waits until it says it is up. */
async function start(command: string[], env: Record<string, string>): Promise<Started> {
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, IRIS_PORT: "0", TMPDIR: TEMP, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not come up:\n${output}`)), 90_000);
    child.stdout!.on("data", () => {
      if (!output.includes("Press Ctrl-C to stop.")) return;
      clearTimeout(timer);
      resolve();
    });
    exited.then(() => reject(new Error(`demo exited early:\n${output}`)));
  });
  const relays = /Relays: (.+)/.exec(output)![1]!.trim().split(/\s+/);
  const dashboard = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)![1]!;
  return { child, output: () => output, exited, relays, dashboard };
}

async function relayStatuses(dashboard: string): Promise<RelayStatus[]> {
  const response = await fetch(new URL("api/relays", dashboard));
  assert.equal(response.status, 200);
  return ((await response.json()) as { relays: RelayStatus[] }).relays;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every pid gone within `ms`: processes end a moment after their parent hears of it. */
async function allGone(pids: number[], ms = 10_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((resolve) => setTimeout(resolve, 100));
  return pids.filter(alive);
}

/** GET `url` with another Host header, as a page behind a rebinding DNS name would (fetch cannot set it). */
function statusWithHost(url: URL, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once("error", reject);
    request.end();
  });
}

/**
 * The stacks here get a temp folder of their own, so what others running on this machine leave in the
 * shared one cannot be taken for ours; tsx's compile cache is the only thing expected in it.
 */
const TEMP = mkdtempSync(path.join(tmpdir(), "iris-main-job-"));
after(() => rmSync(TEMP, { recursive: true, force: true }));

function temporaryBuilds(): string[] {
  return readdirSync(TEMP).filter((name) => !name.startsWith("tsx-"));
}

/**
 * Every relay's report, asked over the overlay from the visitor's relay. The stack is up once each relay
 * listens; its relays may still be linking then (under load, for seconds), and a report asked of a relay
 * the overlay cannot reach yet never comes: so ask again until all of them answer, for a while.
 */
async function backboneReports(visitor: Connection, count: number, ms = 30_000): Promise<RelaySnapshot[]> {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    const own = await visitor.inspect();
    const ids = [...new Set([own.relayId, ...own.directory.map((entry) => entry.relayId)])];
    const answers = await Promise.allSettled(ids.map((id) => visitor.inspect(id, { timeout: 3000 })));
    const reports = answers.flatMap((answer) => (answer.status === "fulfilled" ? [answer.value] : []));
    if (reports.length === count) return reports;
    last = `${reports.length} of ${count} relays answered: ${answers.map((a) => (a.status === "rejected" ? String(a.reason) : "ok")).join("; ")}`;
  }
  throw new Error(`the backbone did not answer within ${ms} ms: ${last}`);
}

async function refusesPeers(relay: string): Promise<void> {
  await assert.rejects(connect({ relays: [relay], development: true, connectTimeout: 1500 }), /could not attach/);
}

test("npm start runs the relays as processes, the demo and the dashboard, and stops everything on Ctrl-C", async () => {
  const buildsBefore = temporaryBuilds();
  assert.deepEqual(buildsBefore, []);
  const stack = await start(["npm", "start", "--silent"], {});
  let pids: number[] = [];
  try {
    const output = stack.output();
    assert.match(output, /request -> echo-member-\d heard: hello #1/);
    assert.match(output, /echo-member-1 got a broadcast/);
    assert.match(output, /subscribe -> \{"tick":\d+/);
    assert.match(output, /files member received 1048576 bytes/);
    assert.match(output, /tunnel -> sent 1 MiB to the files cluster .*hashes match/);
    assert.equal(stack.relays.length, 3, `three relays: ${stack.relays.join(" ")}`);
    for (const relay of stack.relays) assert.match(relay, /^ws:\/\/127\.0\.0\.1:\d+$/);

    // Each relay is a process of its own, none of them the stack.
    const statuses = await relayStatuses(stack.dashboard);
    pids = statuses.map((status) => status.pid!);
    assert.deepEqual(
      statuses.map((status) => [status.url, status.state]),
      stack.relays.map((url) => [url, "up"]),
    );
    assert.equal(new Set([...pids, stack.child.pid]).size, 4, `distinct processes: ${pids.join(", ")}`);
    for (const pid of pids) assert.ok(alive(pid), `relay process ${pid} runs`);

    // A backbone: every relay links to another, as each reports over the overlay.
    const visitor = await connect({ relays: [stack.relays.at(-1)!], development: true });
    try {
      const reports = await backboneReports(visitor, stack.relays.length);
      assert.deepEqual(reports.map((r) => r.address).sort(), [...stack.relays].sort());
      for (const report of reports) assert.ok(report.links.length >= 1, `relay ${report.address} has no relay link`);
      assert.match(
        new TextDecoder().decode(await visitor.request("echo", "visitor", { timeout: 5000 })),
        /heard: visitor/,
      );

      // The dashboard stops relay 2 and starts it again; the visitor, on relay 3, keeps being answered.
      const stopped = await fetch(new URL("api/relays/2/stop?mode=kill", stack.dashboard), {
        method: "POST",
        headers: { "x-iris-control": "1" },
      });
      assert.equal(stopped.status, 200, await stopped.clone().text());
      assert.equal(((await stopped.json()) as { relay: RelayStatus }).relay.state, "down");
      assert.deepEqual(await allGone([pids[1]!]), [], "relay 2's process is gone");
      await refusesPeers(stack.relays[1]!);
      assert.match(
        new TextDecoder().decode(await visitor.request("echo", "still", { timeout: 10_000 })),
        /heard: still/,
      );
      const restarted = await fetch(new URL("api/relays/2/start", stack.dashboard), {
        method: "POST",
        headers: { "x-iris-control": "1" },
      });
      assert.equal(restarted.status, 200, await restarted.clone().text());
      const again = (await relayStatuses(stack.dashboard))[1]!;
      assert.equal(again.state, "up");
      assert.equal(again.url, stack.relays[1], "back at the same address");
      assert.notEqual(again.pid, pids[1]);
      pids[1] = again.pid!;

      // Drained (SIGTERM) instead: the relay asks its peers to move before it exits; nothing fails.
      const answers = Promise.all(
        Array.from({ length: 20 }, (_, i) => visitor.request("echo", `during the drain ${i}`, { timeout: 15_000 })),
      );
      const drained = await fetch(new URL("api/relays/3/stop?mode=drain", stack.dashboard), {
        method: "POST",
        headers: { "x-iris-control": "1" },
      });
      assert.equal(drained.status, 200, await drained.clone().text());
      assert.equal((await relayStatuses(stack.dashboard))[2]!.state, "down");
      assert.equal(((await drained.json()) as { relay: { lastExit: string } }).relay.lastExit, "drained (SIGTERM)");
      assert.equal((await answers).length, 20);
      assert.match(
        new TextDecoder().decode(await visitor.request("echo", "moved", { timeout: 10_000 })),
        /heard: moved/,
      );
      const back = await fetch(new URL("api/relays/3/start", stack.dashboard), {
        method: "POST",
        headers: { "x-iris-control": "1" },
      });
      assert.equal(back.status, 200);
      pids[2] = (await relayStatuses(stack.dashboard))[2]!.pid!;
    } finally {
      await visitor.close();
    }

    // Only the dashboard's own page may use the controls.
    const control = (path: string, headers: Record<string, string>, method = "POST") =>
      fetch(new URL(path, stack.dashboard), { method, headers });
    assert.equal((await control("api/relays/1/stop", {})).status, 403, "no control header");
    assert.equal(
      (await control("api/relays/1/stop", { "x-iris-control": "1", origin: "http://evil.example" })).status,
      403,
    );
    assert.equal(await statusWithHost(new URL("api/relays", stack.dashboard), "evil.example"), 403, "DNS rebinding");
    assert.equal((await relayStatuses(stack.dashboard))[0]!.state, "up", "relay 1 untouched");

    // The page: index.html revalidated, hashed assets cached for a year, the config, the docs.
    const page = await fetch(stack.dashboard);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cache-control"), "no-cache");
    const html = await page.text();
    assert.match(html, /<title>iris-mesh dashboard<\/title>/);
    const assets = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 2, `hashed assets in the page: ${assets.join(", ")}`);
    for (const asset of assets) {
      const response = await fetch(new URL(asset, stack.dashboard));
      assert.equal(response.status, 200, asset);
      assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable", asset);
    }
    const config = (await (await fetch(new URL("iris-config.json", stack.dashboard))).json()) as {
      relays: string[];
      controls: boolean;
    };
    assert.deepEqual(config, { relays: stack.relays, candidates: null, controls: true });
    const docs = await fetch(new URL("README.md", stack.dashboard));
    assert.match(await docs.text(), /^# iris-mesh/);
    assert.deepEqual(temporaryBuilds(), buildsBefore, "the dashboard is built in memory, not in the temp folder");
  } finally {
    // Like Ctrl-C in a terminal: the signal reaches npm and the stack, not the relays (their own groups).
    process.kill(-stack.child.pid!, "SIGINT");
  }
  const code = await stack.exited;
  assert.ok(
    code === 0 || stack.child.signalCode === "SIGINT",
    `demo exit: ${code} ${stack.child.signalCode}\n${stack.output()}`,
  );
  assert.match(stack.output(), /stopping\.\.\./);
  assert.doesNotMatch(stack.output(), /demo failed|Error:/);
  assert.deepEqual(await allGone(pids), [], "no relay outlives the stack");
  for (const relay of stack.relays) await refusesPeers(relay);
  await assert.rejects(fetch(stack.dashboard), /fetch failed/);
  assert.deepEqual(temporaryBuilds(), buildsBefore);
});

test("SIGTERM to the stack alone stops its relays too; a stack killed outright takes them with it", async () => {
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    const stack = await start([process.execPath, "--import", "tsx", STACK], { IRIS_TOUR: "0" });
    const pids = (await relayStatuses(stack.dashboard)).map((status) => status.pid!);
    assert.equal(pids.length, 3);
    for (const pid of pids) assert.ok(alive(pid));
    stack.child.kill(signal);
    await stack.exited;
    // SIGTERM: the stack stops them; SIGKILL: each relay sees its stdin close and exits by itself.
    assert.deepEqual(await allGone(pids), [], `${signal}: relays left running: ${pids.filter(alive).join(", ")}`);
    if (signal === "SIGTERM") assert.match(stack.output(), /stopped\./);
  }
});
