// Per-sender FIFO for broadcasts and publishes, enforced by the receiver: a message that arrives after
// a later one from the same sender (it took an older, slower path) is dropped, never delivered late.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ReceiveOrder, SendSequence, readStamp } from "../../../../core/peer/patterns/stream-order.ts";

const topicA = new Uint8Array(32).fill(1);
const topicB = new Uint8Array(32).fill(2);
const body = (text: string) => new TextEncoder().encode(text);

test("a sender numbers its messages per stream, and the stamp comes off intact", () => {
  const sender = new SendSequence();
  const stamps = [
    sender.stamp(topicA, body("a0")),
    sender.stamp(topicA, body("a1")),
    sender.stamp(topicB, body("b0")),
  ].map(readStamp);
  assert.deepEqual(
    stamps.map((s) => s.seq),
    [0, 1, 0],
  );
  assert.deepEqual(
    stamps.map((s) => new TextDecoder().decode(s.body)),
    ["a0", "a1", "b0"],
  );
  assert.equal(new Set(stamps.map((s) => s.epoch)).size, 1, "one epoch per sender");
});

test("a message overtaken by a later one from the same sender is dropped; other senders and streams are independent", () => {
  const sender = new SendSequence();
  const other = new SendSequence();
  const order = new ReceiveOrder();
  const [m0, m1, m2] = [0, 1, 2].map((i) => readStamp(sender.stamp(topicA, body(`m${i}`))));
  assert.ok(order.accept("alice", "A", m0!));
  assert.ok(order.accept("alice", "A", m2!), "a gap is fine: at most once");
  assert.equal(order.accept("alice", "A", m1!), false, "m1 arrived after m2");
  assert.equal(order.accept("alice", "A", m2!), false, "and a repeat is dropped too");
  assert.ok(
    order.accept("alice", "B", readStamp(sender.stamp(topicB, body("b")))),
    "another stream of the same sender",
  );
  assert.ok(order.accept("bob", "A", readStamp(other.stamp(topicA, body("x")))), "another sender on the same stream");
});

test("a sender that starts over (a new connection, a new epoch) is heard again from its first message", () => {
  const order = new ReceiveOrder();
  const first = new SendSequence();
  for (let i = 0; i < 5; i++) assert.ok(order.accept("alice", "A", readStamp(first.stamp(topicA, body(`${i}`)))));
  const restarted = new SendSequence();
  assert.ok(order.accept("alice", "A", readStamp(restarted.stamp(topicA, body("again")))));
});
