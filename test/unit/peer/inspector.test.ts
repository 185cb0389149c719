// The inspector matches reports to questions by correlation number, and every question ends: with the
// report, with the relay's error, at its timeout, or when the connection closes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ClosedError, TimeoutError } from "../../../core/errors.ts";
import { Inspector } from "../../../core/peer/inspector.ts";
import { Outbox } from "../../../core/peer/outbox.ts";
import type { RelaySnapshot } from "../../../core/relay/relay.ts";
import { memoryLinkPair } from "../../../core/transports/memory.ts";
import { FrameType, RELAY_ID_BYTES, decodeFrame } from "../../../core/wire/frames.ts";
import type { InspectFrame } from "../../../core/wire/frames.ts";
import { settle, VirtualClock } from "../../fixtures/virtual-clock.ts";

function setup() {
  const clock = new VirtualClock();
  const [link, relaySide] = memoryLinkPair();
  const asked: InspectFrame[] = [];
  relaySide.listen({
    frame: (bytes) => {
      const frame = decodeFrame(bytes);
      if (frame.type === FrameType.Inspect) asked.push(frame);
    },
    close: () => {},
  });
  const outbox = new Outbox(clock, () => Promise.resolve(), 1024 * 1024);
  outbox.attach(link);
  return { clock, asked, inspector: new Inspector(clock, outbox) };
}

function reply(corr: number, report: string) {
  return { type: FrameType.InspectReply, hops: 8, corr, origin: new Uint8Array(RELAY_ID_BYTES), report } as const;
}

test("each report goes to its own question, whatever order they come back in", async () => {
  const { asked, inspector } = setup();
  const own = inspector.ask(undefined, 5000);
  const other = inspector.ask("ab".repeat(RELAY_ID_BYTES), 5000);
  await settle();
  assert.equal(asked.length, 2);
  assert.deepEqual(
    asked[0]!.target,
    new Uint8Array(RELAY_ID_BYTES),
    "no id: the all-zero target, the peer's own relay",
  );
  assert.deepEqual(asked[1]!.target, new Uint8Array(RELAY_ID_BYTES).fill(0xab));
  inspector.onReply(reply(asked[1]!.corr, JSON.stringify({ relayId: "other" })));
  inspector.onReply(reply(asked[0]!.corr, JSON.stringify({ relayId: "own" })));
  assert.equal(((await own) as RelaySnapshot).relayId, "own");
  assert.equal(((await other) as RelaySnapshot).relayId, "other");
  // A second report for a settled question, or one for a question never asked, changes nothing.
  inspector.onReply(reply(asked[0]!.corr, "{}"));
  inspector.onReply(reply(999, "{}"));
});

test("a relay's error, an unreadable report, a timeout and a close each end their question", async () => {
  const { clock, asked, inspector } = setup();
  const refused = inspector.ask(undefined, 5000);
  const garbled = inspector.ask(undefined, 5000);
  const unanswered = inspector.ask(undefined, 1000);
  const closing = inspector.ask(undefined, 60_000);
  await settle();
  inspector.onReply(reply(asked[0]!.corr, JSON.stringify({ error: "no such relay" })));
  inspector.onReply(reply(asked[1]!.corr, "{not json"));
  await assert.rejects(refused, /inspection failed: no such relay/);
  await assert.rejects(garbled, /not JSON/);
  const timedOut = assert.rejects(unanswered, TimeoutError);
  await clock.advance(1000);
  await timedOut;
  inspector.failAll(new ClosedError("connection closed"));
  await assert.rejects(closing, ClosedError);
});

test("a relay id of the wrong length is refused before anything is sent", async () => {
  const { asked, inspector } = setup();
  await assert.rejects(inspector.ask("abcd", 5000), TypeError);
  await settle();
  assert.equal(asked.length, 0);
});
