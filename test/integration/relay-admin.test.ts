// What a relay shows, and to whom. On its public port, which anyone can reach: the health probes and
// nothing else, so an outsider learns no peer id, address or cluster id even from a relay whose backbone
// is closed. On its admin listener (loopback, or behind a token): the full report, Prometheus metrics
// and probes that say why a relay is not ready.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection, RelaySnapshot } from "../../core/node.ts";
import { get as getWith, metricValue } from "../fixtures/https-get.ts";
import { rawClient } from "../fixtures/raw-client.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const networkKey = generateKey();
const keys = { db: generateKey() };
const TOKEN = "a-long-enough-admin-token-for-tests";

/** GET, with any headers (fetch cannot set Host); status and body only. */
async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { status, body } = await getWith(url, { headers });
  return { status, body };
}

/** The value of one series in a Prometheus text exposition, which must be there. */
function metric(text: string, series: string): number {
  const value = metricValue(text, series);
  assert.ok(value !== undefined, `no series ${series}`);
  return value;
}

describe("a closed backbone's relay: status and metrics for the operator only", { timeout: 60_000 }, () => {
  let relay: RelayProcess;
  let member: Connection;
  let publicHttp: string;

  before(async () => {
    relay = await startRelay(["--network-key", networkKey]);
    publicHttp = relay.url.replace(/^ws/, "http");
    member = await connect({ relays: [relay.url], keys, networkKey });
    await member.register("db", { request: (body) => body });
  });

  after(async () => {
    await member?.close();
    await relay?.stop();
  });

  test("an outsider on the public port learns nothing: no peer id, no address, no cluster id", async () => {
    const report = (await (await fetch(`${relay.adminUrl}/status`)).json()) as RelaySnapshot;
    const secrets = [member.peerId, ...report.clusters.map((c) => c.id), report.peers[0]!.remote, relay.adminUrl!];
    assert.equal(report.peers.length, 1);
    assert.equal(report.clusters.length, 1);
    for (const path of ["/status", "/status?gc=1", "/metrics", "/", "/admin", "/peers", "/debug/vars"]) {
      for (const method of ["GET", "POST"]) {
        const response = await fetch(`${publicHttp}${path}`, { method });
        const body = await response.text();
        assert.equal(response.status, 426, `${method} ${path}`);
        assert.equal(body, "this is an iris-mesh relay: connect with a WebSocket\n");
        for (const secret of secrets) assert.ok(!body.includes(secret), `${path} shows ${secret}`);
        assert.equal(response.headers.get("access-control-allow-origin"), null);
      }
    }
    // The probes: alive and ready, and not a word more.
    assert.deepEqual(await get(`${publicHttp}/healthz`), { status: 200, body: "ok\n" });
    assert.deepEqual(await get(`${publicHttp}/readyz`), { status: 200, body: "ready\n" });
  });

  test("the operator sees everything on the admin listener, on loopback only", async () => {
    assert.match(relay.adminUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
    const report = (await (await fetch(`${relay.adminUrl}/status`)).json()) as RelaySnapshot & {
      memory: { live: number };
    };
    assert.deepEqual(
      report.peers.map((peer) => peer.peerId),
      [member.peerId],
    );
    assert.ok(report.memory.live > 0);
    const metrics = await fetch(`${relay.adminUrl}/metrics`);
    assert.match(metrics.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    assert.equal(metric(await metrics.text(), "iris_relay_peers"), 1);
    assert.deepEqual(await get(`${relay.adminUrl}/readyz`), { status: 200, body: "ready\n" });
    assert.equal((await get(`${relay.adminUrl}/nothing`)).status, 404);
  });

  test("a page that rebinds its own host name to 127.0.0.1 is refused: only IP addresses and localhost", async () => {
    const refused = await get(`${relay.adminUrl}/status`, { host: "attacker.example" });
    assert.equal(refused.status, 403);
    assert.ok(!refused.body.includes(member.peerId));
    const port = new URL(relay.adminUrl!).port;
    assert.equal((await get(`${relay.adminUrl}/status`, { host: `localhost:${port}` })).status, 200);
  });

  test("the metrics count traffic by kind, requests placed, and refused handshakes", async () => {
    const caller = await connect({ relays: [relay.url], keys, networkKey });
    try {
      for (let i = 0; i < 5; i++) await caller.request("db", "counted");
    } finally {
      await caller.close();
    }
    await assert.rejects(connect({ relays: [relay.url], keys, networkKey: generateKey(), connectTimeout: 3000 }));
    const text = await (await fetch(`${relay.adminUrl}/metrics`)).text();
    assert.ok(metric(text, 'iris_relay_frames_total{direction="in",kind="Request"}') >= 5);
    assert.ok(metric(text, 'iris_relay_frames_total{direction="out",kind="Reply"}') >= 5);
    assert.ok(metric(text, 'iris_relay_frame_bytes_total{direction="in",kind="Request"}') > 5 * "counted".length);
    assert.ok(metric(text, "iris_relay_requests_placed_total") >= 5);
    assert.equal(metric(text, 'iris_relay_refused_total{reason="network-key"}'), 1);
    assert.ok(metric(text, "process_open_fds") > 0);
  });
});

describe("the admin token", { timeout: 30_000 }, () => {
  let relay: RelayProcess;

  before(async () => {
    relay = await startRelay([], { IRIS_ADMIN_TOKEN: TOKEN });
  });

  after(async () => {
    await relay?.stop();
  });

  test("without the bearer token nothing is shown; with it everything is", async () => {
    for (const path of ["/status", "/metrics", "/readyz"]) {
      const refused = await get(`${relay.adminUrl}${path}`);
      assert.equal(refused.status, 401, path);
      assert.doesNotMatch(refused.body, /relayId|iris_relay/);
      assert.equal(
        (await get(`${relay.adminUrl}${path}`, { authorization: "Bearer wrong-token-of-some-length" })).status,
        401,
      );
    }
    const allowed = await get(`${relay.adminUrl}/status`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(allowed.status, 200);
    assert.match(allowed.body, /"relayId"/);
  });

  test("with a token, off loopback is allowed; without one the relay refuses to start", async () => {
    const { spawnSync } = await import("node:child_process");
    const cli = new URL("../../relay-server/cli.ts", import.meta.url).pathname;
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ["--import", "tsx", cli, "--check-config", "--admin-port", "0"], {
        encoding: "utf8",
        env: { ...process.env, ...env },
      });
    const open = run({ IRIS_ADMIN_HOST: "0.0.0.0" });
    assert.equal(open.status, 2);
    assert.match(
      open.stderr,
      /--admin-host 0\.0\.0\.0 opens the relay's status and metrics beyond this machine: set --admin-token/,
    );
    assert.equal(run({ IRIS_ADMIN_HOST: "0.0.0.0", IRIS_ADMIN_TOKEN: TOKEN }).status, 0);
  });
});

describe("readiness", { timeout: 60_000 }, () => {
  const relays: RelayProcess[] = [];

  after(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
  });

  test("a relay with seeds is not ready until it links to the backbone", async () => {
    // Nothing listens on port 1: the seed is refused, and the relay stays cut off.
    const lonely = await startRelay(["--seed", "ws://127.0.0.1:1"]);
    relays.push(lonely);
    await lonely.waitForLine(/ relay-dial-failed /);
    assert.deepEqual(await get(`${lonely.adminUrl}/readyz`), {
      status: 503,
      body: "not ready: no link to the backbone yet (1 seeds)\n",
    });
    assert.deepEqual(await get(lonely.url.replace(/^ws/, "http") + "/readyz"), { status: 503, body: "not ready\n" });
    assert.equal(metric(await (await fetch(`${lonely.adminUrl}/metrics`)).text(), "iris_relay_ready"), 0);
    const first = await startRelay();
    relays.push(first);
    const linked = await startRelay(["--seed", first.url]);
    relays.push(linked);
    await linked.waitForLine(/ relay-linked /);
    assert.deepEqual(await get(`${linked.adminUrl}/readyz`), { status: 200, body: "ready\n" });
  });

  test("a draining relay is not ready, and the admin listener shows the drain until it ends", async () => {
    const relay = await startRelay(["--drain-timeout", "4000"]);
    relays.push(relay);
    // A peer that ignores the relay's request to move keeps the drain going until its timeout.
    const stubborn = await rawClient(relay.url, { hello: true });
    relay.child.kill("SIGTERM");
    await relay.waitForLine(/ relay-draining /);
    assert.deepEqual(await get(`${relay.adminUrl}/readyz`), {
      status: 503,
      body: "not ready: not listening; draining\n",
    });
    assert.equal(metric(await (await fetch(`${relay.adminUrl}/metrics`)).text(), "iris_relay_draining"), 1);
    await assert.rejects(rawClient(relay.url), "a draining relay takes no new link");
    // The drain ends at its timeout, the stubborn peer still there; the relay then exits by itself.
    await relay.waitForLine(/ relay-stopped/);
    assert.equal(await relay.stop(), 0);
    stubborn.socket.terminate();
  });
});
