// The member's reply cache: replies copied into a ring of bytes that grows, then wraps. Whatever is
// sent again must be the very bytes remembered, however often the ring has wrapped since; what has
// been overwritten, evicted or expired is not sent at all.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Link } from "../../../../../core/internal.ts";
import type { PeerContext } from "../../../../../core/peer/patterns/context.ts";
import { ReplyCache } from "../../../../../core/peer/patterns/request/reply-cache.ts";
import { VirtualClock } from "../../../../fixtures/virtual-clock.ts";

function messageId(sender: number, counter: number): Uint8Array {
  const id = new Uint8Array(16);
  const view = new DataView(id.buffer);
  view.setUint32(0, sender * 7919);
  view.setUint32(4, sender);
  view.setUint32(12, counter);
  return id;
}

/** A reply frame whose bytes say which one it is, of a length that varies. */
function frameFor(n: number): Uint8Array {
  const frame = new Uint8Array(40 + ((n * 37) % 300));
  for (let i = 0; i < frame.length; i++) frame[i] = (n * 31 + i) & 255;
  return frame;
}

function setup(maxBytes: number, maxEntries: number) {
  const clock = new VirtualClock();
  const sent: Uint8Array[] = [];
  const ctx = { clock } as unknown as PeerContext;
  const link = { send: (frame: Uint8Array) => sent.push(frame) } as unknown as Link;
  const cache = new ReplyCache(ctx, maxBytes, maxEntries);
  /** What resend gives for reply `n`, or null. */
  const resent = (n: number): Uint8Array | null => {
    const before = sent.length;
    cache.resend(messageId(1, n), link);
    return sent.length > before ? sent[sent.length - 1]! : null;
  };
  return { clock, cache, resent };
}

describe("ReplyCache", () => {
  test("sends again the exact bytes of every reply still held, across many wraps of the ring", () => {
    const { cache, resent } = setup(16 * 1024, 10_000);
    for (let n = 0; n < 2000; n++) {
      const frame = frameFor(n);
      cache.remember(messageId(1, n), frame, 60_000);
      frame.fill(0); // the frame is the sender's again: the cache kept a copy
      // The latest few are always there, and intact.
      for (const back of [0, 1, 5]) {
        if (n - back < 0) continue;
        assert.deepEqual(resent(n - back), frameFor(n - back), `reply ${n - back} after ${n}`);
      }
    }
    // The ring holds 16 KiB: old replies were overwritten, and are not sent as someone else's bytes.
    let held = 0;
    for (let n = 0; n < 2000; n++) {
      const got = resent(n);
      if (got === null) continue;
      held++;
      assert.deepEqual(got, frameFor(n), `reply ${n}`);
    }
    assert.ok(held > 20 && held < 200, `held ${held}`);
    assert.equal(cache.size, held);
  });

  test("a copy goes out: overwriting the ring later does not change a frame already handed over", () => {
    const { cache, resent } = setup(4096, 10_000);
    cache.remember(messageId(1, 0), frameFor(0), 60_000);
    const first = resent(0)!;
    for (let n = 1; n < 200; n++) cache.remember(messageId(1, n), frameFor(n), 60_000);
    assert.deepEqual(first, frameFor(0));
    assert.equal(resent(0), null);
  });

  test("keeps at most maxEntries, and nothing past its request's timeout", () => {
    const { clock, cache, resent } = setup(1 << 20, 10);
    for (let n = 0; n < 30; n++) cache.remember(messageId(1, n), frameFor(n), 1000);
    assert.equal(cache.size, 10);
    assert.equal(resent(19), null);
    assert.deepEqual(resent(20), frameFor(20));
    clock.advanceSync(1000);
    assert.equal(resent(29), null, "expired");
  });

  test("an id that only shares a key with a held one gets nothing", () => {
    const { cache } = setup(1 << 20, 100);
    const sent: Uint8Array[] = [];
    const link = { send: (frame: Uint8Array) => sent.push(frame) } as unknown as Link;
    cache.remember(messageId(1, 5), frameFor(5), 60_000);
    const other = messageId(1, 5);
    // Another id whose two epoch words differ alike: the key, made from their xor, is the same.
    other[2] = other[2]! ^ 0xff;
    other[6] = other[6]! ^ 0xff;
    cache.resend(other, link);
    assert.equal(sent.length, 0);
    cache.resend(messageId(1, 5), link);
    assert.equal(sent.length, 1);
  });
});
