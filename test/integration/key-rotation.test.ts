// Rolling a cluster's key under load, through a real relay process: members serve under both keys,
// callers switch, members retire the old key, and not one request fails on the way. Afterwards the
// old key reaches nobody: a caller still holding it gets NoMembersError.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, generateKey, NoMembersError } from "../../core/node.ts";
import type { Connection } from "../../core/node.ts";
import { startRelay } from "../fixtures/relay-process.ts";
import type { RelayProcess } from "../fixtures/relay-process.ts";

const oldKey = generateKey();
const newKey = generateKey();
const text = new TextDecoder();
const WORKERS = 16;

/** Callers that keep `WORKERS` requests in flight until stopped, counting what completes and fails. */
class SteadyLoad {
  completed = 0;
  readonly failures: Error[] = [];
  /** Bumped at each key switch; a worker's request belongs to the epoch it started in. */
  epoch = 0;
  private readonly finishedEpoch = new Array<number>(WORKERS).fill(-1);
  private running = true;
  private readonly waiters = new Set<() => void>();
  private readonly done: Promise<unknown[]>;

  constructor(private readonly caller: Connection) {
    this.done = Promise.all(Array.from({ length: WORKERS }, (_, worker) => this.work(worker)));
  }

  /** Resolves once `count` more requests have completed. */
  more(count: number): Promise<void> {
    const target = this.completed + count;
    return this.until(() => this.completed >= target);
  }

  /** Resolves once every worker has completed a request started in the current epoch. */
  allInCurrentEpoch(): Promise<void> {
    return this.until(() => this.finishedEpoch.every((epoch) => epoch >= this.epoch));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  private async work(worker: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const epoch = this.epoch;
      const body = `w${worker}-${i}`;
      try {
        const reply = text.decode(await this.caller.request("db", body, { timeout: 10_000 }));
        if (!reply.endsWith(`:${body}`)) this.failures.push(new Error(`reply ${reply} for ${body}`));
      } catch (error) {
        this.failures.push(error as Error);
      }
      this.completed++;
      this.finishedEpoch[worker] = epoch;
      for (const waiter of [...this.waiters]) waiter();
    }
  }
}

describe("key rotation", () => {
  let relay: RelayProcess;
  const connections: Connection[] = [];
  const open = async (keys: Record<string, string>) => {
    const connection = await connect({ relays: [relay.url], keys });
    connections.push(connection);
    return connection;
  };

  before(async () => {
    relay = await startRelay(["--startup-grace", "0"]);
  });

  after(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    await relay?.stop();
  });

  test("a cluster's key rolls under steady load with zero failed requests; the old key then finds no members", {
    timeout: 30_000,
  }, async () => {
    const members = await Promise.all([0, 1, 2].map(() => open({ db: oldKey })));
    for (const member of members) {
      await member.register("db", { request: (body) => `${member.peerId}:${text.decode(body)}` });
    }
    const caller = await open({ db: oldKey });
    const straggler = await open({ db: oldKey });
    const load = new SteadyLoad(caller);
    await load.more(200);

    // 1. Every member serves under the new key as well.
    await Promise.all(members.map((member) => member.addKey("db", newKey)));
    await load.more(200);
    // 2. The caller sends with the new key; requests already sealed with the old one still land.
    await caller.useKey("db", newKey);
    load.epoch++;
    await load.allInCurrentEpoch();
    // 3. Members send with the new key and stop serving under the old one.
    await Promise.all(
      members.map(async (member) => {
        await member.useKey("db", newKey);
        await member.retireKey("db", oldKey);
      }),
    );
    await load.more(200);
    await load.stop();

    assert.deepEqual(load.failures.map(String), [], "no request failed during the roll");
    assert.ok(load.completed >= 600, `completed ${load.completed}`);
    await assert.rejects(straggler.request("db", "still on the old key", { timeout: 5000 }), NoMembersError);
    const fresh = await open({ db: newKey });
    assert.match(text.decode(await fresh.request("db", "new key only")), /:new key only$/);
  });

  test("a subscription follows the topic onto the new key without subscribing again", { timeout: 30_000 }, async () => {
    const subscriber = await open({ news: oldKey });
    const received: string[] = [];
    let notify = () => {};
    await subscriber.subscribe("news", (body) => {
      received.push(text.decode(body));
      notify();
    });
    const arrived = (count: number) =>
      new Promise<void>((resolve) => {
        notify = () => received.length >= count && resolve();
        notify();
      });

    const oldPublisher = await open({ news: oldKey });
    await oldPublisher.publish("news", "old key");
    await arrived(1);
    await subscriber.addKey("news", newKey);
    const newPublisher = await open({ news: newKey });
    await newPublisher.publish("news", "new key");
    await arrived(2);
    await subscriber.useKey("news", newKey);
    await subscriber.retireKey("news", oldKey);
    await newPublisher.publish("news", "after retirement");
    await arrived(3);
    assert.deepEqual(received, ["old key", "new key", "after retirement"]);
    const held = subscriber.keyring.all("topic", "news").map((keys) => keys.id.join());
    assert.deepEqual(held, [subscriber.keyring.keysFor("topic", "news", newKey).id.join()], "only the new key is held");
  });

  test("retiring the key in use is refused, and the connection keeps serving", { timeout: 30_000 }, async () => {
    const member = await open({ spare: oldKey });
    await member.register("spare", { request: () => "ok" });
    await assert.rejects(member.retireKey("spare", oldKey), /cannot be retired/);
    const caller = await open({ spare: oldKey });
    assert.equal(text.decode(await caller.request("spare", "still there?")), "ok");
  });
});
