// The replay window: each sender's messages once only, inside [now - window, now + skew], in constant
// memory per sender, with bounded memory overall that never lets a forgotten sender's message back in;
// and per-sender order on a stream.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MessageIds, counterOf } from "../../../core/crypto/message-ids.ts";
import { CHUNK_COUNTERS, ReplayWindow } from "../../../core/crypto/replay.ts";
import type { ReplayVerdict } from "../../../core/crypto/replay.ts";

/** A message id of sender `sender` with counter `counter`. */
function id(counter: number, sender = 1): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xa5a5a5a5);
  view.setUint32(4, sender);
  view.setUint32(8, Math.floor(counter / 2 ** 32));
  view.setUint32(12, counter >>> 0);
  return out;
}

const NOW = 1_700_000_000_000;

describe("ReplayWindow", () => {
  test("defaults", () => {
    const window = new ReplayWindow();
    assert.equal(window.windowMs, 120_000);
    assert.equal(window.skewMs, 30_000);
    assert.equal(window.capacity, 16_384);
    assert.equal(window.chunkBudget, 16_384);
    assert.equal(window.size, 0);
  });

  test("a sender's ids: [epoch 8][counter 8], the counter going up by one per message", () => {
    const ids = new MessageIds();
    const first = ids.next();
    const second = ids.next();
    assert.equal(first.length, 16);
    assert.deepEqual(first.subarray(0, 8), ids.epoch);
    assert.deepEqual(second.subarray(0, 8), ids.epoch);
    assert.equal(counterOf(first), 1);
    assert.equal(counterOf(second), 2);
    assert.notDeepEqual(new MessageIds().epoch, ids.epoch, "every sender its own epoch");
  });

  test("an id is fresh once, then replayed", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(id(1), NOW, NOW), "fresh");
    assert.equal(window.check(id(1), NOW, NOW), "replayed");
    assert.equal(window.check(id(1), NOW, NOW + 1000), "replayed");
    assert.equal(window.check(id(2), NOW, NOW), "fresh");
    assert.equal(window.size, 1, "one sender");
  });

  test("a replay with another timestamp is still a replay of the id", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(id(1), NOW, NOW), "fresh");
    assert.equal(window.check(id(1), NOW + 5, NOW), "replayed");
  });

  test("ids compare by bytes, not by identity", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(id(7), NOW, NOW), "fresh");
    assert.equal(window.check(id(7).slice(), NOW, NOW), "replayed");
    const inside = new Uint8Array(40);
    inside.set(id(7), 10);
    assert.equal(window.check(inside.subarray(10, 26), NOW, NOW), "replayed");
  });

  test("senders are told apart by their whole epoch, even when they share a map key", () => {
    const window = new ReplayWindow();
    // Epochs that differ only in their first byte share the 53 bits the window keys senders by.
    const a = id(5, 1);
    const b = id(5, 1);
    b[0] = 0x25;
    assert.equal(window.check(a, NOW, NOW), "fresh");
    assert.equal(window.check(b, NOW, NOW), "fresh");
    assert.equal(window.check(a, NOW, NOW), "replayed");
    assert.equal(window.check(b, NOW, NOW), "replayed");
    assert.equal(window.size, 2);
  });

  test("a message may arrive long after later ones of its sender (a request placed again): fresh once", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(id(100_000), NOW, NOW), "fresh");
    for (const counter of [99_999, 50_000, 1]) {
      assert.equal(window.check(id(counter), NOW, NOW), "fresh", `late ${counter}`);
      assert.equal(window.check(id(counter), NOW, NOW), "replayed", `late ${counter} again`);
    }
    assert.equal(window.check(id(100_000), NOW, NOW), "replayed");
  });

  test("counters whose chunk has left the window are refused as stale, and their memory is given back", () => {
    const window = new ReplayWindow({ windowMs: 10_000, skewMs: 1_000 });
    assert.equal(window.check(id(5), NOW, NOW), "fresh");
    const later = NOW + 20_000;
    // The next chunk's first message expires the old chunk.
    assert.equal(window.check(id(CHUNK_COUNTERS + 1), later, later), "fresh");
    assert.equal(window.chunks, 1);
    assert.equal(window.check(id(6), later, later), "stale", "below an expired chunk, even with a fresh timestamp");
    assert.equal(window.check(id(CHUNK_COUNTERS + 2), later, later), "fresh");
  });

  test("the chunk budget bounds memory; a sender alone over it loses its oldest counters, refused as stale", () => {
    const window = new ReplayWindow({ chunks: 4 });
    for (let chunk = 0; chunk < 10; chunk++) {
      assert.equal(window.check(id(chunk * CHUNK_COUNTERS + 1), NOW, NOW), "fresh");
      assert.ok(window.chunks <= 4, `${window.chunks} chunks after ${chunk + 1}`);
    }
    assert.equal(window.check(id(1), NOW, NOW), "stale", "a dropped chunk's counter");
    assert.equal(window.check(id(9 * CHUNK_COUNTERS + 1), NOW, NOW), "replayed", "a kept chunk's counter");
  });

  test("a counter no sender uses (0, or past 2^53) is refused as stale", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(id(0), NOW, NOW), "stale");
    const huge = id(1);
    huge[8] = 0xff;
    assert.equal(window.check(huge, NOW, NOW), "stale");
  });

  test("timestamps older than the window are stale, the edge itself is not", () => {
    const window = new ReplayWindow({ windowMs: 10_000, skewMs: 1_000 });
    assert.equal(window.check(id(1), NOW - 10_001, NOW), "stale");
    assert.equal(window.check(id(2), NOW - 10_000, NOW), "fresh");
    assert.equal(window.check(id(1), NOW, NOW), "fresh", "a stale message is not remembered");
  });

  test("timestamps beyond the skew are future, the edge itself is not", () => {
    const window = new ReplayWindow({ windowMs: 10_000, skewMs: 1_000 });
    assert.equal(window.check(id(1), NOW + 1_001, NOW), "future");
    assert.equal(window.check(id(2), NOW + 1_000, NOW), "fresh");
    // Refused messages were not recorded: once in range they are fresh.
    assert.equal(window.check(id(1), NOW + 1_001, NOW + 1), "fresh");
  });

  test("capacity bounds the senders remembered; a forgotten sender's messages are stale, never fresh", () => {
    const capacity = 100;
    const extra = 50;
    const window = new ReplayWindow({ senders: capacity });
    for (let i = 0; i < capacity + extra; i++) {
      assert.equal(window.check(id(1, i), NOW + i, NOW + i), "fresh");
      assert.ok(window.size <= capacity, `size ${window.size} after ${i + 1}`);
    }
    assert.equal(window.size, capacity);
    const later = NOW + capacity + extra;
    for (let i = 0; i < extra; i++) {
      assert.equal(window.check(id(1, i), NOW + i, later), "stale", `forgotten sender ${i}`);
    }
    for (let i = extra; i < capacity + extra; i++) {
      assert.equal(window.check(id(1, i), NOW + i, later), "replayed", `remembered sender ${i}`);
    }
  });

  test("a sender heard from again is forgotten after the silent ones", () => {
    const window = new ReplayWindow({ senders: 3 });
    for (let sender = 1; sender <= 3; sender++) assert.equal(window.check(id(1, sender), NOW, NOW), "fresh");
    // Sender 1 speaks again later: sender 2 is now the one heard from least recently, and goes first.
    const later = NOW + 2000;
    assert.equal(window.check(id(2, 1), later, later), "fresh");
    assert.equal(window.check(id(1, 4), later, later), "fresh");
    assert.equal(window.check(id(2, 1), later, later), "replayed", "sender 1 still remembered");
    assert.equal(window.check(id(1, 3), later, later), "replayed", "sender 3 still remembered");
    assert.equal(window.check(id(1, 2), later, later), "fresh", "sender 2 forgotten: its counters start over");
  });

  test("with a stream, a message overtaken by a later one of its sender is not delivered", () => {
    const window = new ReplayWindow();
    const topic = {};
    const other = {};
    assert.equal(window.check(id(5), NOW, NOW, topic), "fresh");
    assert.equal(window.check(id(3), NOW, NOW, topic), "overtaken");
    assert.equal(window.check(id(3), NOW, NOW, topic), "replayed", "and it counts as seen");
    assert.equal(window.check(id(4), NOW, NOW, other), "fresh", "order is per stream");
    assert.equal(window.check(id(6), NOW, NOW, topic), "fresh");
    assert.equal(window.check(id(2, 2), NOW, NOW, topic), "fresh", "and per sender");
  });

  test("out-of-order counters and timestamps under eviction pressure never let a replay through", () => {
    // Seeded: a few senders, counters shuffled within a small span, timestamps within the window, a tiny
    // table; every accepted message is replayed after every step. Never fresh twice.
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const window = new ReplayWindow({ senders: 4, chunks: 6, windowMs: 60_000, skewMs: 5_000 });
    const accepted: Array<[Uint8Array, number]> = [];
    const verdicts = new Map<ReplayVerdict, number>();
    const next = [1, 1, 1, 1, 1];
    for (let n = 0; n < 400; n++) {
      const now = NOW + n * 10;
      const sender = Math.floor(random() * 5);
      const counter = Math.max(1, next[sender]! - Math.floor(random() * 3 * CHUNK_COUNTERS));
      next[sender]! += Math.floor(random() * CHUNK_COUNTERS);
      const timestamp = now - Math.floor(random() * 400) + 100;
      const message = id(counter, sender);
      const verdict = window.check(message, timestamp, now);
      verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      if (verdict === "fresh") accepted.push([message, timestamp]);
      assert.ok(window.size <= 4);
      for (const [old, oldTimestamp] of accepted) {
        assert.notEqual(window.check(old, oldTimestamp, now), "fresh", `replay at step ${n}`);
      }
    }
    assert.ok((verdicts.get("fresh") ?? 0) > 50, `verdicts: ${JSON.stringify([...verdicts])}`);
  });

  test("a sender whose newest message has expired is forgotten without raising the floor", () => {
    const window = new ReplayWindow({ windowMs: 10_000, skewMs: 1_000 });
    assert.equal(window.check(id(1, 1), NOW, NOW), "fresh");
    const later = NOW + 20_000;
    // A new sender's arrival clears one expired sender.
    assert.equal(window.check(id(1, 2), later, later), "fresh");
    assert.equal(window.size, 1);
    // The expired sender's messages are stale by their own timestamps; its new ones are welcome.
    assert.equal(window.check(id(1, 1), NOW, later), "stale");
    assert.equal(window.check(id(2, 1), later, later), "fresh");
  });
});
