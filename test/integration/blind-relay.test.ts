// The relay never sees plaintext, and a peer without a cluster key can neither join nor read.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect, generateKey } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { deriveServiceKeys, parseKey, signJoin } from "../../core/crypto/keys.ts";
import { open } from "../../core/crypto/seal.ts";
import { FrameType, JoinKind, NackCode, decodeFrame, encodeFrame } from "../../core/wire/frames.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";
import { rawClient } from "../fixtures/raw-client.ts";
import { tapFile } from "../fixtures/tap.ts";
import { testCrypto } from "../fixtures/crypto.ts";

const keys = { vault: generateKey(), alerts: generateKey() };
const CANARY = "CANARY-b9f1c2d7e8a34f56";
const canaryBytes = Buffer.from(CANARY);
const payload = (what: string) => `${what} carrying ${CANARY} inside`;

describe("a blind relay", () => {
  let tap: Awaited<ReturnType<typeof tapFile>>;
  let relay: RelayProcess;
  let member: Connection;
  let caller: Connection;

  before(async () => {
    tap = await tapFile();
    relay = await startRelay(["--tap", tap.path, "--log-level", "debug"]);
    // Compression off: the canary must be hidden by sealing alone, not by deflate scrambling it.
    const options = { relays: [relay.url], keys, compressAbove: Infinity };
    member = await connect(options);
    caller = await connect(options);
  });

  after(async () => {
    await caller?.close();
    await member?.close();
    await relay?.stop();
    await tap?.remove();
  });

  test("no byte the relay receives, sends or logs contains a payload's plaintext", async () => {
    const heard: string[] = [];
    await member.register("vault", {
      request: (body) => {
        const text = new TextDecoder().decode(body);
        if (text.startsWith("fail")) throw new Error(`refused, ${CANARY}`);
        return `${text} / reply carrying ${CANARY}`;
      },
      broadcast: (body) => void heard.push(new TextDecoder().decode(body)),
      tunnel: async (tunnel) => {
        for await (const message of tunnel) await tunnel.send(message);
      },
    });
    const published = new Promise<string>((resolve) =>
      member.subscribe("alerts", (body) => resolve(new TextDecoder().decode(body))),
    );
    await member.restored();

    const reply = new TextDecoder().decode(await caller.request("vault", payload("request")));
    assert.ok(reply.includes(CANARY), "the peers themselves do see the plaintext");
    await caller.broadcast("vault", payload("broadcast"));
    await caller.publish("alerts", payload("publish"));
    assert.ok((await published).includes(CANARY));
    const tunnel = await caller.tunnel("vault");
    await tunnel.send(payload("tunnel"));
    assert.ok(new TextDecoder().decode((await tunnel.receive())!).includes(CANARY));
    await tunnel.close();
    // A handler's error message crosses sealed too.
    await assert.rejects(caller.request("vault", payload("fail")), (error: Error) => error.message.includes(CANARY));
    await caller.request("vault", payload("late request"));
    assert.ok(heard.some((message) => message.includes(CANARY)));

    await relay.stop();
    const frames = await tap.frames();
    const peerIds = [member.peerId, caller.peerId].map((hex) => Buffer.from(hex, "hex"));
    // The tap saw the traffic: the routing headers (peer ids) are there in the clear.
    assert.ok(frames.length > 20, `tap recorded ${frames.length} frames`);
    assert.ok(
      frames.some((frame) => peerIds.some((id) => frame.bytes.includes(id))),
      "routing headers are visible",
    );
    // ...but no payload: not in any frame in or out, not in the whole file, not in the logs.
    for (const frame of frames)
      assert.ok(!frame.bytes.includes(canaryBytes), `plaintext in a ${frame.direction} frame`);
    assert.ok(!(await readFile(tap.path)).includes(canaryBytes));
    assert.ok(relay.lines.length > 3 && !relay.lines.some((line) => line.includes(CANARY)));
    // The sealed payloads in the tap do open with the cluster key: the canary really was in them.
    const vault = deriveServiceKeys(testCrypto.signing, "cluster", "vault", parseKey(keys.vault));
    const opened = frames
      .map((frame) => decodeFrame(frame.bytes))
      .filter((frame) => frame.type === FrameType.Request)
      .map((frame) =>
        new TextDecoder().decode(
          open(testCrypto, vault.payloadKey, (frame as { sealed: Uint8Array }).sealed, 1 << 20).body,
        ),
      );
    assert.ok(opened.length >= 2 && opened.every((text) => text.includes(CANARY)));
  });
});

describe("a peer without the cluster key", () => {
  let relay: RelayProcess;
  let member: Connection;

  before(async () => {
    relay = await startRelay();
    member = await connect({ relays: [relay.url], keys });
    await member.register("vault", { request: () => "secret" });
    await member.subscribe("alerts", () => {});
  });

  after(async () => {
    await member?.close();
    await relay?.stop();
  });

  test("cannot join the cluster or the topic: its proof fails", async () => {
    const genuine = deriveServiceKeys(testCrypto.signing, "cluster", "vault", parseKey(keys.vault));
    const attacker = await rawClient(relay.url, { hello: true });
    // It knows the name (so the name hash) and even the membership public key, but not the key.
    const forged = deriveServiceKeys(testCrypto.signing, "cluster", "vault", parseKey(generateKey()));
    for (const [kind, publicKey] of [
      [JoinKind.Member, genuine.membership.publicKey],
      [
        JoinKind.Subscriber,
        deriveServiceKeys(testCrypto.signing, "topic", "alerts", parseKey(keys.alerts)).membership.publicKey,
      ],
    ] as const) {
      attacker.send(
        encodeFrame({
          type: FrameType.Join,
          corr: kind + 1,
          kind,
          nameHash: genuine.nameHash,
          publicKey,
          signature: signJoin(testCrypto.signing, forged, attacker.challenge.nonce),
        }),
      );
      const answer = await attacker.next();
      assert.equal(answer.type, FrameType.Nack);
      assert.equal((answer as { code: number }).code, NackCode.BadProof);
    }
    attacker.socket.close();
  });

  test("with the wrong key it lands in a different cluster and never sees the real one's traffic", async () => {
    const impostor = await connect({ relays: [relay.url], keys: { vault: generateKey() } });
    try {
      let stolen = 0;
      await impostor.register("vault", {
        request: () => {
          stolen++;
          return "stolen";
        },
      });
      const caller = await connect({ relays: [relay.url], keys });
      try {
        for (let i = 0; i < 50; i++)
          assert.equal(new TextDecoder().decode(await caller.request("vault", `q${i}`)), "secret");
      } finally {
        await caller.close();
      }
      assert.equal(stolen, 0);
    } finally {
      await impostor.close();
    }
  });
});
