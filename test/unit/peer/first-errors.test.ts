// The errors a new user meets first, as the connection gives them: connect() to relays that all refuse
// fails once each has been tried, with every cause, however long connectTimeout is; one good relay
// among refusing ones is enough; register() twice for a cluster is a typed error with a stable code.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AlreadyRegisteredError, IrisError, UnreachableError, connect } from "../../../core/internal.ts";
import { Mesh, RELAY_ADDRESS, TEST_TIMEOUT, makeKeys } from "../../fixtures/mesh.ts";

describe("the first errors", TEST_TIMEOUT, () => {
  test("connect() to relays that all refuse fails with UnreachableError and each relay's cause", async () => {
    const mesh = new Mesh(makeKeys("svc"));
    try {
      const relays = ["mem://nobody-1", "mem://nobody-2", "mem://nobody-1"];
      await assert.rejects(
        // No deadline at all: only having tried every relay can end this.
        connect({ relays, dialer: mesh.net.dialer, connectTimeout: Number.POSITIVE_INFINITY }),
        (error: unknown) => {
          assert.ok(error instanceof UnreachableError);
          assert.ok(error instanceof IrisError);
          assert.equal(error.code, "UNREACHABLE");
          assert.match(error.message, /could not attach to any relay/);
          assert.deepEqual(error.causes.map((cause) => cause.relay).sort(), ["mem://nobody-1", "mem://nobody-2"]);
          for (const cause of error.causes) assert.match(cause.reason, /connection refused/);
          return true;
        },
      );
    } finally {
      await mesh.close();
    }
  });

  test("one relay that answers, among refusing ones, is enough", async () => {
    const mesh = new Mesh(makeKeys("svc"));
    try {
      const conn = await mesh.peer({
        relays: ["mem://nobody-1", "mem://nobody-2", RELAY_ADDRESS],
        reconnect: { initialDelay: 1, maxDelay: 5 },
      });
      assert.equal(conn.relay, RELAY_ADDRESS);
    } finally {
      await mesh.close();
    }
  });

  test("register() twice for one cluster throws AlreadyRegisteredError; after unregister() it works again", async () => {
    const mesh = new Mesh(makeKeys("svc"));
    try {
      const conn = await mesh.peer();
      const first = await conn.register("svc", { request: () => "one" });
      await assert.rejects(conn.register("svc", { request: () => "two" }), (error: unknown) => {
        assert.ok(error instanceof AlreadyRegisteredError);
        assert.equal(error.code, "ALREADY_REGISTERED");
        assert.match(error.message, /already registered in cluster "svc"/);
        return true;
      });
      assert.equal(new TextDecoder().decode(await conn.request("svc", "x")), "one", "the first registration stands");
      await first.unregister();
      await (await conn.register("svc", { request: () => "again" })).unregister();
    } finally {
      await mesh.close();
    }
  });
});
