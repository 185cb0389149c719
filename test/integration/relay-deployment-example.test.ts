// examples/relay-deployment: three relays from their config files, over TLS, from a copy of the folder
// as a user would have it (its own make-certificate.sh makes the certificate). The configs' fixed ports
// become free ones (port 0), so each relay is seeded by flag with the ones already up; everything else
// comes from the files. A member on the last relay serves a caller on the first.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKey } from "../../core/node.ts";
import type { RelaySnapshot } from "../../core/node.ts";
import { get, metricValue } from "../fixtures/https-get.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const EXAMPLE = fileURLToPath(new URL("../../examples/relay-deployment", import.meta.url));
const keys = { db: generateKey() };
const NAMES = ["a", "b", "c"] as const;

/** Polls until `ready` holds (each try a real HTTP round trip), or fails after `timeoutMs`. */
async function until<T>(what: string, read: () => Promise<T>, ready: (value: T) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!ready(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await read();
  }
  return last;
}

describe("examples/relay-deployment", { timeout: 90_000 }, () => {
  let dir: string;
  let ca: string;
  const relays: RelayProcess[] = [];
  const peers: PeerProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "iris-deployment-"));
    cpSync(EXAMPLE, dir, { recursive: true });
    execFileSync(join(dir, "make-certificate.sh"), { stdio: "ignore" });
    ca = readFileSync(join(dir, "tls", "relay.crt"), "utf8");
    for (const name of NAMES) {
      const seeds = relays.flatMap((relay) => ["--seed", relay.url]);
      const args = ["--config", join(dir, `relay-${name}.json`), "--port", "0", "--admin-port", "0"];
      // No seeds for the first (an empty value means none), the running ones for the others.
      relays.push(await startRelay([...args, ...(seeds.length > 0 ? seeds : ["--seed="])]));
    }
  });

  after(async () => {
    await Promise.all(peers.map((peer) => peer.stop()));
    await Promise.all(relays.map((relay) => relay.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the three serve wss:// with the example's certificate, and link into one backbone", async () => {
    for (const relay of relays) {
      assert.match(relay.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
      // A relay with seeds is ready once linked, which the last one started may not be yet.
      const readyz = `${relay.url.replace(/^wss:/, "https:")}/readyz`;
      await until(
        `${readyz} ready`,
        () => get(readyz, { ca }),
        (answer) => answer.body === "ready\n",
      );
    }
    await until(
      "every relay linked to both others",
      () =>
        Promise.all(
          relays.map(async (relay) => JSON.parse((await get(`${relay.adminUrl}/status`)).body) as RelaySnapshot),
        ),
      (reports) => reports.every((report) => report.links.length === 2),
    );
    const metrics = await get(`${relays[0]!.adminUrl}/metrics`);
    assert.equal(metricValue(metrics.body, "iris_relay_relay_links"), 2);
  });

  test("a member on one relay serves a caller on another, both trusting the certificate", async () => {
    const env = { NODE_EXTRA_CA_CERTS: join(dir, "tls", "relay.crt") };
    const [member, caller] = await Promise.all([startPeer({ env }), startPeer({ env })]);
    peers.push(member, caller);
    await member.connect([relays[2]!.url], keys);
    await member.register("db", { kind: "tag" });
    await caller.connect([relays[0]!.url], keys);
    const reply = await caller.call<{ ok?: string; error?: string }>("request", {
      cluster: "db",
      payload: "hi",
      timeout: 5000,
    });
    assert.equal(reply.ok, `${member.peerId}:hi`, JSON.stringify(reply));
  });
});
