// TLS: a relay given a certificate and key serves wss://; Node peers trust it through Node's standard
// NODE_EXTRA_CA_CERTS, relays dialing it through --tls-ca; without that trust both are refused, and TLS
// files that will not do are refused before the relay listens. The certificate is self-signed, made by
// the test (fixtures/certificate.ts).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { connect, generateKey } from "../../core/node.ts";
import { FrameType, decodeFrame } from "../../core/wire/frames.ts";
import { makeCertificate } from "../fixtures/certificate.ts";
import type { TestCertificate } from "../fixtures/certificate.ts";
import { startPeer } from "../fixtures/peer-process.ts";
import type { PeerProcess } from "../fixtures/peer-process.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const CLI = fileURLToPath(new URL("../../relay-server/cli.ts", import.meta.url));
const keys = { db: generateKey() };

/** Opens a WebSocket; resolves with the first frame's type, or rejects with the error. */
function firstFrame(url: string, ca?: string): Promise<FrameType> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, ca });
    socket.once("error", reject);
    socket.once("message", (data: Buffer) => {
      resolve(decodeFrame(data).type);
      socket.close();
    });
  });
}

describe("relays over TLS", { timeout: 90_000 }, () => {
  let cert: TestCertificate;
  let secure: RelayProcess;
  const others: RelayProcess[] = [];
  const peers: PeerProcess[] = [];

  before(async () => {
    cert = makeCertificate();
    secure = await startRelay(["--tls-cert", cert.cert, "--tls-key", cert.key]);
  });

  after(async () => {
    await Promise.all(peers.map((peer) => peer.stop()));
    await Promise.all([secure, ...others].map((relay) => relay?.stop()));
    cert?.remove();
  });

  test("with --tls-cert and --tls-key the relay serves wss://, and says when its certificate expires", async () => {
    assert.match(secure.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await firstFrame(secure.url, readFileSync(cert.cert, "utf8")), FrameType.Challenge);
    const listening = secure.records.find((record) => record.event === "relay-listening")!;
    const expires = Date.parse(String(listening.certificateExpires));
    assert.ok(expires > Date.now() && expires < Date.now() + 2 * 86_400_000, String(listening.certificateExpires));
  });

  test("a client that does not trust the certificate, or speaks plain ws://, gets no WebSocket", async () => {
    await assert.rejects(firstFrame(secure.url), /self-signed certificate/);
    await assert.rejects(firstFrame(secure.url.replace(/^wss:/, "ws:")));
  });

  test("a Node peer trusting it through NODE_EXTRA_CA_CERTS attaches; one that does not is refused", async () => {
    const trusting = await startPeer({ env: { NODE_EXTRA_CA_CERTS: cert.cert } });
    peers.push(trusting);
    await trusting.connect([secure.url], keys);
    await trusting.register("db", { kind: "tag" });
    const untrusting = await startPeer();
    peers.push(untrusting);
    await assert.rejects(untrusting.connect([secure.url], keys, { connectTimeout: 3000 }), /self-signed certificate/);
  });

  test("a relay dials a wss:// seed it trusts through --tls-ca, and requests cross that link", async () => {
    const plain = await startRelay(["--seed", secure.url, "--tls-ca", cert.cert]);
    others.push(plain);
    assert.match(plain.url, /^ws:\/\//);
    await plain.waitForLine(/ relay-linked /);
    const caller = await connect({ relays: [plain.url], keys });
    try {
      const reply = new TextDecoder().decode(await caller.request("db", "over TLS", { timeout: 5000 }));
      assert.match(reply, /^[0-9a-f]+:over TLS$/);
    } finally {
      await caller.close();
    }
  });

  test("without --tls-ca a relay cannot verify the seed, and its log says why", async () => {
    const untrusting = await startRelay(["--seed", secure.url]);
    others.push(untrusting);
    await untrusting.waitForLine(/ relay-dial-failed .*self-signed certificate/);
    assert.ok(!untrusting.lines.some((line) => / relay-linked /.test(line)));
  });

  test("TLS files that will not do are refused before the relay listens, each named", () => {
    const other = makeCertificate("other");
    try {
      const notPem = join(other.dir, "not.pem");
      writeFileSync(notPem, "hello\n");
      const check = (...args: string[]) =>
        spawnSync(process.execPath, ["--import", "tsx", CLI, "--check-config", ...args], { encoding: "utf8" });
      const good = check("--tls-cert", cert.cert, "--tls-key", cert.key, "--tls-ca", other.cert);
      assert.equal(good.status, 0, good.stderr);
      const cases: Array<[string[], RegExp]> = [
        [["--tls-cert", cert.cert], /--tls-cert and --tls-key go together/],
        [
          ["--tls-cert", cert.cert, "--tls-key", other.key],
          /--tls-key .* does not match the certificate of --tls-cert/,
        ],
        [
          ["--tls-cert", notPem, "--tls-key", cert.key],
          /--tls-cert \(IRIS_TLS_CERT, "tlsCert"\): .*not\.pem holds no PEM/,
        ],
        [["--tls-cert", cert.cert, "--tls-key", notPem], /--tls-key .*holds no PEM private key/],
        [["--tls-ca", join(other.dir, "missing.pem")], /--tls-ca .*cannot read .*missing\.pem/],
      ];
      for (const [args, pattern] of cases) {
        const result = check(...args);
        assert.equal(result.status, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
        assert.match(result.stderr, pattern);
      }
      // A relay that is not asked to check refuses the same way, before it listens.
      const run = spawnSync(
        process.execPath,
        ["--import", "tsx", CLI, "--port", "0", "--tls-cert", cert.cert, "--tls-key", other.key],
        { encoding: "utf8", timeout: 20_000 },
      );
      assert.equal(run.status, 2);
      assert.match(run.stderr, /does not match the certificate/);
      assert.doesNotMatch(run.stdout, /relay-listening/);
    } finally {
      other.remove();
    }
  });
});
