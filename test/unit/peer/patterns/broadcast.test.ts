// Broadcast over one relay and in-memory links: every member once, self-delivery, per-sender FIFO.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeyError, TooLargeError } from "../../../../core/internal.ts";
import type { Connection } from "../../../../core/internal.ts";
import { FrameType } from "../../../../core/wire/frames.ts";
import { FrameLog, Mesh, counter, decode, deferred, makeKeys, TEST_TIMEOUT } from "../../../fixtures/mesh.ts";
import type { Deferred } from "../../../fixtures/mesh.ts";

interface Delivery {
  origin: string;
  body: string;
}

describe("broadcast", TEST_TIMEOUT, () => {
  let mesh: Mesh;
  let members: Connection[];
  let outsider: Connection;
  /** What each member received, in arrival order. */
  const inbox: Delivery[][] = [];
  /** Resolved when a member sees a body starting with "fence:". */
  let fences: Array<Deferred<void>> = [];
  /** Told of every delivery, when a test needs to wait for a count. */
  let onDelivery: ((index: number, delivery: Delivery) => void) | null = null;
  let fenceCount = 0;

  before(async () => {
    mesh = new Mesh(makeKeys("hall", "empty", "quiet"), { maxMessage: 32 * 1024 });
    members = await mesh.peers(8);
    await Promise.all(
      members.map((member, index) => {
        inbox[index] = [];
        return member.register("hall", {
          broadcast: (body, info) => {
            const text = decode(body);
            const delivery = { origin: info.origin, body: text };
            inbox[index]!.push(delivery);
            onDelivery?.(index, delivery);
            if (text.startsWith("fence:")) fences[index]?.resolve();
          },
        });
      }),
    );
    outsider = await mesh.peer();
  });

  after(async () => {
    await mesh.close();
  });

  /**
   * Sends a fence from `sender` and waits until every member has it. A sender's broadcasts are FIFO, so
   * anything the sender broadcast before has arrived too: afterwards, counts are final.
   */
  async function fence(sender: Connection): Promise<void> {
    fences = members.map(() => deferred());
    await sender.broadcast("hall", `fence:${++fenceCount}`);
    await Promise.all(fences.map((f) => f.promise));
  }

  function clear(): void {
    for (const list of inbox) list.length = 0;
  }

  test("reaches every member exactly once, the sender included", async () => {
    clear();
    const sender = members[3]!;
    await sender.broadcast("hall", "hello everyone");
    await fence(sender);
    members.forEach((_, index) => {
      const got = inbox[index]!.filter((d) => d.body === "hello everyone");
      assert.equal(got.length, 1, `member ${index} got it ${got.length} times`);
      assert.equal(got[0]!.origin, sender.peerId);
    });
  });

  test("a non-member's broadcast reaches every member once", async () => {
    clear();
    await outsider.broadcast("hall", "from outside");
    await fence(outsider);
    for (const list of inbox) {
      assert.deepEqual(
        list.filter((d) => !d.body.startsWith("fence:")),
        [{ origin: outsider.peerId, body: "from outside" }],
      );
    }
  });

  test("per-sender FIFO: 1,000 broadcasts from 3 interleaved senders arrive in each sender's order", async () => {
    clear();
    const senders = [members[0]!, outsider, members[5]!];
    const total = 1000;
    const arrived = members.map(() => counter(total));
    onDelivery = (index, delivery) => {
      if (delivery.body.startsWith("seq:")) arrived[index]!.bump();
    };
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const s = i % senders.length;
      sends.push(senders[s]!.broadcast("hall", `seq:${s}:${i}`));
    }
    await Promise.all(sends);
    await Promise.all(arrived.map((a) => a.reached));
    onDelivery = null;

    members.forEach((_, index) => {
      const got = inbox[index]!.filter((d) => d.body.startsWith("seq:"));
      assert.equal(got.length, total, `member ${index} got ${got.length}`);
      senders.forEach((sender, s) => {
        const fromSender = got.filter((d) => d.origin === sender.peerId).map((d) => Number(d.body.split(":")[2]));
        const expected = Array.from({ length: total }, (_, i) => i).filter((i) => i % senders.length === s);
        assert.deepEqual(fromSender, expected, `member ${index}, sender ${s}`);
      });
    });
  });

  test("with no members, a broadcast resolves without error", async () => {
    const log = new FrameLog();
    const sender = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    assert.equal(await sender.broadcast("empty", "into the void"), undefined);
    assert.equal(log.sent(FrameType.Broadcast).length, 1, "it was sent; the relay dropped it");
  });

  test("a member registered without a broadcast handler is skipped without harm", async () => {
    const quiet = await mesh.peer();
    const errors: Error[] = [];
    quiet.on("error", ({ error }) => errors.push(error));
    let requests = 0;
    await quiet.register("quiet", { request: () => `${++requests}` });
    await outsider.broadcast("quiet", "anyone listening?");
    // The member still serves requests afterwards, and nothing was reported as an error.
    assert.equal(decode(await outsider.request("quiet", "ping")), "1");
    assert.deepEqual(errors, []);
  });

  test("KeyError for a cluster without a key and TooLargeError over the max message; nothing is sent", async () => {
    const log = new FrameLog();
    const sender = await mesh.peer({ dialer: log.dialer(mesh.net.dialer) });
    const keyError = await sender.broadcast("no-key-here", "x").catch((e: unknown) => e);
    assert.ok(keyError instanceof KeyError, `got ${String(keyError)}`);
    const tooLarge = await sender.broadcast("hall", new Uint8Array(32 * 1024 + 1)).catch((e: unknown) => e);
    assert.ok(tooLarge instanceof TooLargeError, `got ${String(tooLarge)}`);
    assert.equal(log.sent(FrameType.Broadcast).length, 0);
    await sender.broadcast("hall", new Uint8Array(32 * 1024));
    assert.equal(log.sent(FrameType.Broadcast).length, 1, "exactly the limit is fine");
  });
});
