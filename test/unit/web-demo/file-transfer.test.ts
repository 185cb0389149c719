// The dashboard's file-over-tunnel agreement (web-demo/shared/file-transfer.ts), over a real tunnel on
// one in-memory relay: the member's receipt carries the SHA-256 of exactly what was sent, a sender that
// stops short is an error at the member, and headers and receipts refuse what is not theirs.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Connection } from "../../../core/internal.ts";
import {
  FILE_CHUNK,
  encodeHeader,
  encodeReceipt,
  parseHeader,
  parseReceipt,
  receiveFile,
  sendFile,
} from "../../../web-demo/shared/file-transfer.ts";
import type { FileReceipt, Hasher } from "../../../web-demo/shared/file-transfer.ts";
import { Mesh, deferred, makeKeys, noiseBytes, TEST_TIMEOUT } from "../../fixtures/mesh.ts";
import type { Deferred } from "../../fixtures/mesh.ts";

function sha256Hasher(): Hasher {
  const hash = createHash("sha256");
  return { update: (bytes) => void hash.update(bytes), digest: async () => hash.digest("hex") };
}

function chunksOf(bytes: Uint8Array, size = FILE_CHUNK): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) out.push(bytes.subarray(offset, offset + size));
  return out;
}

describe("file transfer over a tunnel", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let caller: Connection;
  /** What the member made of each tunnel, in order. */
  const outcomes: Array<Deferred<FileReceipt | Error>> = [];
  let next = 0;

  before(async () => {
    mesh = new Mesh(makeKeys("drop"), { startupGraceMs: 0 });
    const member = await mesh.peer();
    await member.register("drop", {
      tunnel: async (tunnel) => {
        const outcome = outcomes[next++]!;
        try {
          const header = parseHeader((await tunnel.receive())!);
          assert.ok(header, "the tunnel starts with a header");
          outcome.resolve(await receiveFile(tunnel, header, sha256Hasher(), "the member"));
        } catch (error) {
          outcome.resolve(error as Error);
        }
      },
    });
    caller = await mesh.peer();
  });

  after(() => mesh.close());

  test("the receipt's SHA-256 is the SHA-256 of what was sent, and progress reaches the size", async () => {
    const file = noiseBytes(FILE_CHUNK * 3 + 17, 5);
    const member = deferred<FileReceipt | Error>();
    outcomes.push(member);
    const progress: number[] = [];
    const tunnel = await caller.tunnel("drop");
    const receipt = await sendFile(
      tunnel,
      { name: "a.bin", size: file.length, type: "" },
      chunksOf(file),
      ({ bytes }) => progress.push(bytes),
    );
    const expected = createHash("sha256").update(file).digest("hex");
    assert.equal(receipt.sha256, expected);
    assert.equal(receipt.bytes, file.length);
    assert.equal(receipt.by, "the member");
    assert.deepEqual(await member.promise, receipt);
    assert.equal(progress.at(-1), file.length);
    assert.equal(progress.length, 4);
  });

  test("an empty file has the SHA-256 of nothing", async () => {
    outcomes.push(deferred());
    const receipt = await sendFile(await caller.tunnel("drop"), { name: "empty", size: 0, type: "" }, []);
    assert.equal(receipt.sha256, createHash("sha256").digest("hex"));
  });

  test("a sender that closes before the announced size is an error at the member, not a receipt", async () => {
    const member = deferred<FileReceipt | Error>();
    outcomes.push(member);
    const tunnel = await caller.tunnel("drop");
    await tunnel.send(encodeHeader({ name: "short.bin", size: 1000, type: "" }));
    await tunnel.send(new Uint8Array(10));
    await tunnel.close();
    const outcome = await member.promise;
    assert.ok(outcome instanceof Error);
    assert.match(outcome.message, /closed after 10 of 1000 bytes/);
  });

  test("a sender whose data does not match the header's size fails before asking for a receipt", async () => {
    outcomes.push(deferred());
    const tunnel = await caller.tunnel("drop");
    await assert.rejects(
      sendFile(tunnel, { name: "liar", size: 5, type: "" }, [new Uint8Array(3)]),
      /3 bytes, expected 5/,
    );
  });
});

describe("file transfer messages", () => {
  test("a header survives the round trip; other bytes are not a header", () => {
    assert.deepEqual(parseHeader(encodeHeader({ name: "x.txt", size: 12, type: "text/plain" })), {
      kind: "iris-file",
      name: "x.txt",
      size: 12,
      type: "text/plain",
    });
    assert.equal(parseHeader(new TextEncoder().encode("hello")), null);
    assert.equal(parseHeader(new TextEncoder().encode('{"kind":"iris-file","name":"x","size":-1,"type":""}')), null);
    assert.equal(parseHeader(new TextEncoder().encode('{"kind":"iris-file","name":"x","size":1.5,"type":""}')), null);
    assert.equal(parseHeader(encodeReceipt({ bytes: 1, sha256: "0".repeat(64), by: "x" })), null);
  });

  test("a receipt needs a 64-digit hex SHA-256", () => {
    const good = encodeReceipt({ bytes: 3, sha256: "ab".repeat(32), by: "tab 123456" });
    assert.deepEqual(parseReceipt(good), {
      kind: "iris-file-receipt",
      bytes: 3,
      sha256: "ab".repeat(32),
      by: "tab 123456",
    });
    assert.equal(parseReceipt(encodeReceipt({ bytes: 3, sha256: "xyz", by: "x" })), null);
    assert.equal(parseReceipt(encodeHeader({ name: "x", size: 1, type: "" })), null);
  });
});
