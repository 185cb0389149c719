// deploy/: the example config serves wss:// with /healthz, /readyz and /metrics, a relay of a closed
// backbone shows its status to its operator only, and the systemd unit is one systemd accepts and that
// gives the drain its time. The example names the files and hosts of a real deployment; the test
// overrides those by flag (flags win over the file), the rest of the file is used as it is.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { generateKey } from "../../core/node.ts";
import { makeCertificate } from "../fixtures/certificate.ts";
import type { TestCertificate } from "../fixtures/certificate.ts";
import { get, metricValue } from "../fixtures/https-get.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import { RELAY_UNIT as UNIT, unitEnvironment } from "../fixtures/relay-unit.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const EXAMPLE = fileURLToPath(new URL("../../deploy/relay.example.json", import.meta.url));
const CLI = fileURLToPath(new URL("../../relay-server/cli.ts", import.meta.url));
const networkKey = generateKey();

describe("deploy/relay.example.json", { timeout: 60_000 }, () => {
  let cert: TestCertificate;
  let ca: string;
  let seed: RelayProcess;
  let relay: RelayProcess;

  before(async () => {
    cert = makeCertificate();
    ca = readFileSync(cert.cert, "utf8");
    const tls = ["--tls-cert", cert.cert, "--tls-key", cert.key, "--tls-ca", cert.cert];
    // The environment the unit gives the relay: it runs here as it would under systemd.
    const env = { ...unitEnvironment(), IRIS_NETWORK_KEY: networkKey };
    seed = await startRelay(tls, env);
    // Loopback and free ports instead of every interface and 7600/7680; this test's certificate instead
    // of /etc/iris-relay/tls; the test's seed instead of relay-2 and relay-3.example.net; the listening
    // address advertised (an empty value means the default).
    relay = await startRelay(
      ["--config", EXAMPLE, "--host", "127.0.0.1", "--port", "0", "--admin-port", "0", ...tls, "--advertise="].concat([
        "--seed",
        seed.url,
      ]),
      env,
    );
  });

  after(async () => {
    await Promise.all([relay?.stop(), seed?.stop()]);
    cert?.remove();
  });

  test("serves wss:// with /healthz and /readyz, ready once linked to its seed", async () => {
    assert.match(relay.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
    const publicHttps = relay.url.replace(/^wss:/, "https:");
    assert.deepEqual((await get(`${publicHttps}/healthz`, { ca })).body, "ok\n");
    await relay.waitForLine(/ relay-linked /);
    assert.deepEqual(await get(`${publicHttps}/readyz`, { ca }).then((a) => [a.status, a.body]), [200, "ready\n"]);
  });

  test("serves Prometheus metrics on its admin listener, on loopback", async () => {
    assert.match(relay.adminUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
    const metrics = await get(`${relay.adminUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(metricValue(metrics.body, "iris_relay_ready"), 1);
    assert.equal(metricValue(metrics.body, "iris_relay_relay_links"), 1);
    const expiry = metricValue(metrics.body, "iris_relay_tls_certificate_expiry_timestamp_seconds")!;
    assert.ok(expiry * 1000 > Date.now(), `certificate expiry ${expiry}`);
  });

  test("with a network key, it shows its status to the operator only", async () => {
    const report = JSON.parse((await get(`${relay.adminUrl}/status`)).body) as { relayId: string; links: unknown[] };
    assert.equal(report.links.length, 1);
    const outsider = await get(`${relay.url.replace(/^wss:/, "https:")}/status`, { ca });
    assert.equal(outsider.status, 426);
    assert.ok(!outsider.body.includes(report.relayId));
  });

  test("--check-config reads the files the example names, and passes with real ones", () => {
    const check = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", CLI, "--config", EXAMPLE, "--check-config", ...args], {
        encoding: "utf8",
      });
    const asWritten = check();
    assert.equal(asWritten.status, 2);
    assert.match(
      asWritten.stderr,
      /--tls-cert \(IRIS_TLS_CERT, "tlsCert"\): cannot read \/etc\/iris-relay\/tls\/fullchain\.pem/,
    );
    const withFiles = check("--tls-cert", cert.cert, "--tls-key", cert.key);
    assert.equal(withFiles.status, 0, withFiles.stderr);
    assert.match(withFiles.stdout, /the configuration is valid/);
  });
});

describe("deploy/iris-relay.service", () => {
  const unit = readFileSync(UNIT, "utf8");
  const directive = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(unit)?.[1];

  test("runs the relay from the example's config path, checks it first, and raises the descriptor limit", () => {
    assert.equal(
      directive("ExecStart"),
      "/opt/iris-relay/node_modules/.bin/iris-relay --config /etc/iris-relay/relay.json",
    );
    assert.match(directive("ExecStartPre")!, / --config \/etc\/iris-relay\/relay\.json --check-config$/);
    assert.ok(Number(directive("LimitNOFILE")) >= 65536);
    assert.equal(directive("KillSignal"), "SIGTERM");
  });

  test("keeps glibc from handing freed heap back to the kernel after every burst of socket reads", () => {
    const settings = unitEnvironment(unit);
    assert.ok(Number(settings.MALLOC_TRIM_THRESHOLD_) >= 64 << 20, JSON.stringify(settings));
    assert.ok(Number(settings.MALLOC_TOP_PAD_) >= 16 << 20, JSON.stringify(settings));
  });

  test("gives the drain its time before systemd kills the relay", () => {
    const example = JSON.parse(readFileSync(EXAMPLE, "utf8")) as { drainTimeoutMs: number };
    const stopSeconds = Number(/^(\d+)s$/.exec(directive("TimeoutStopSec") ?? "")?.[1]);
    // The drain, then up to 2 s for the links' closing handshakes, then some room.
    assert.ok(stopSeconds * 1000 >= example.drainTimeoutMs + 5000, `TimeoutStopSec=${stopSeconds}s`);
  });

  test("is a unit systemd accepts (systemd-analyze verify)", (t) => {
    try {
      execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    } catch {
      t.skip("systemd-analyze is not installed");
      return;
    }
    const result = spawnSync("systemd-analyze", ["verify", UNIT], { encoding: "utf8" });
    // The relay is not installed here: that one complaint is expected, any other is a fault of the unit.
    const complaints = `${result.stdout}${result.stderr}`
      .split("\n")
      .filter((line) => line !== "" && !/Command \/opt\/iris-relay\/\S+ is not executable/.test(line));
    assert.deepEqual(complaints, []);
  });
});
