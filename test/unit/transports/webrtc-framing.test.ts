// The data channel link's framing, flow control and close handshake, over a deterministic fake channel
// pair (test/unit/helpers/fake-data-channel.ts): no peer connection, no timing assumptions.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CloseCode } from "../../../core/transports/link.ts";
import {
  FramingError,
  MAX_CHANNEL_MESSAGE,
  MessagePacker,
  RecordReader,
} from "../../../core/transports/webrtc-framing.ts";
import { DataChannelLink } from "../../../core/transports/webrtc-link.ts";
import type { DataChannelLinkOptions } from "../../../core/transports/webrtc-link.ts";
import { fakeChannelPair } from "../../fixtures/fake-data-channel.ts";
import type { FakeChannelOptions, FakeDataChannel } from "../../fixtures/fake-data-channel.ts";
import { recordLink, sha256, testBytes, within } from "../../fixtures/link-recorder.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Everything a packer holds, message by message. */
function drain(packer: MessagePacker): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let message = packer.peek(); message; message = packer.peek()) {
    out.push(message.slice());
    packer.shift();
  }
  return out;
}

function readAll(messages: Uint8Array[], maxFrame = 4 * MiB) {
  const reader = new RecordReader(maxFrame);
  const frames: Uint8Array[] = [];
  const ends: Array<[number, string]> = [];
  for (const message of messages)
    reader.read(message, { frame: (f) => frames.push(f.slice()), end: (c, r) => ends.push([c, r]) });
  return { frames, ends };
}

describe("data channel records", () => {
  test("byte layout: frames and end of stream", () => {
    const packer = new MessagePacker();
    packer.pushFrame(Uint8Array.of(1, 2));
    packer.pushFrame(new Uint8Array(0));
    packer.pushEnd(1000, "ok");
    assert.deepEqual(drain(packer), [Uint8Array.of(0, 0, 2, 1, 2, 0, 0, 0, 2, 0, 4, 0x03, 0xe8, 0x6f, 0x6b)]);
    assert.equal(packer.queuedBytes, 0);
  });

  test("a frame one byte over a message is split into a Part and a Frame record", () => {
    const packer = new MessagePacker();
    const frame = testBytes(MAX_CHANNEL_MESSAGE + 1, 3);
    packer.pushFrame(frame);
    const messages = drain(packer);
    assert.deepEqual(
      messages.map((m) => m.length),
      [MAX_CHANNEL_MESSAGE, 3 + 4],
    );
    assert.deepEqual([messages[0]![0], messages[1]![0]], [1, 0], "Part then Frame");
    assert.deepEqual(readAll(messages).frames, [frame]);
  });

  test("the packer copies: the caller may reuse its buffer after pushFrame", () => {
    const packer = new MessagePacker();
    const buffer = Uint8Array.of(5, 6, 7);
    packer.pushFrame(buffer);
    buffer.fill(0);
    assert.deepEqual(readAll(drain(packer)).frames, [Uint8Array.of(5, 6, 7)]);
  });

  test("a long close reason is cut at a character boundary", () => {
    const packer = new MessagePacker();
    packer.pushEnd(4000, "é".repeat(2000));
    const { ends } = readAll(drain(packer));
    assert.equal(ends.length, 1);
    assert.equal(ends[0]![0], 4000);
    assert.equal(ends[0]![1], "é".repeat(512));
  });

  const bad: Array<[string, Uint8Array[], number]> = [
    ["an unknown record kind", [Uint8Array.of(9, 0, 0)], CloseCode.Protocol],
    ["a truncated header", [Uint8Array.of(0, 0)], CloseCode.Protocol],
    ["a record longer than its message", [Uint8Array.of(0, 0, 5, 1)], CloseCode.Protocol],
    ["an end without a code", [Uint8Array.of(2, 0, 1, 0)], CloseCode.Protocol],
    ["an end inside a frame", [Uint8Array.of(1, 0, 1, 7, 2, 0, 2, 3, 232)], CloseCode.Protocol],
    ["data after the end", [Uint8Array.of(2, 0, 2, 3, 232), Uint8Array.of(0, 0, 0)], CloseCode.Protocol],
    ["a reason that is not UTF-8", [Uint8Array.of(2, 0, 3, 3, 232, 0xff)], CloseCode.Protocol],
    [
      "a frame over maxFrame, in parts",
      [Uint8Array.of(1, 0, 3, 1, 2, 3), Uint8Array.of(0, 0, 2, 4, 5)],
      CloseCode.TooBig,
    ],
  ];
  for (const [what, messages, code] of bad) {
    test(`the reader refuses ${what} with close code ${code}`, () => {
      assert.throws(
        () => readAll(messages, 4),
        (error: unknown) => error instanceof FramingError && error.code === code,
      );
    });
  }
});

interface Pair {
  a: DataChannelLink;
  b: DataChannelLink;
  channelA: FakeDataChannel;
  channelB: FakeDataChannel;
  finished: { a: Promise<void>; b: Promise<void> };
}

function linkPair(
  channel: FakeChannelOptions = {},
  link: DataChannelLinkOptions = {},
  linkB: DataChannelLinkOptions = link,
): Pair {
  const [channelA, channelB] = fakeChannelPair(channel);
  let doneA!: () => void;
  let doneB!: () => void;
  const finished = { a: new Promise<void>((r) => (doneA = r)), b: new Promise<void>((r) => (doneB = r)) };
  const a = new DataChannelLink(channelA, { ...link, remote: "b", onFinished: () => doneA() });
  const b = new DataChannelLink(channelB, { ...linkB, remote: "a", onFinished: () => doneB() });
  return { a, b, channelA, channelB, finished };
}

const SIZES = [0, 1, MAX_CHANNEL_MESSAGE - 1, MAX_CHANNEL_MESSAGE, MAX_CHANNEL_MESSAGE + 1, MiB, 0, 7];

describe("data channel link over a fake channel", () => {
  for (const deliver of ["arraybuffer", "uint8array"] as const) {
    test(`frames from 0 B to 1 MiB arrive intact and in order, both ways (delivered as ${deliver})`, async () => {
      const { a, b, channelA, channelB } = linkPair({ deliver, bytesPerTurn: 48 * KiB });
      const atA = recordLink(a);
      const atB = recordLink(b);
      const frames = SIZES.map((size, i) => testBytes(size, i + 1));
      for (const frame of frames) a.send(frame);
      for (const frame of [...frames].reverse()) b.send(frame);
      await within(Promise.all([atB.until(frames.length), atA.until(frames.length)]), 10_000, "all frames");
      assert.deepEqual(atB.frames, frames);
      assert.deepEqual(atA.frames, [...frames].reverse());
      for (const channel of [channelA, channelB]) {
        assert.ok(
          Math.max(...channel.sentSizes) <= MAX_CHANNEL_MESSAGE,
          `largest message ${Math.max(...channel.sentSizes)}`,
        );
      }
      a.close();
      await within(Promise.all([atA.closed, atB.closed]), 5_000, "close");
    });
  }

  test("fitMessagesTo lowers the message size to what the two ends negotiated, and never raises it", async () => {
    const { a, b, channelA } = linkPair();
    const atB = recordLink(b);
    a.fitMessagesTo(Number.POSITIVE_INFINITY);
    a.fitMessagesTo(1024 * KiB);
    a.send(testBytes(100 * KiB, 1));
    await within(atB.until(1), 5_000, "the first frame");
    assert.equal(Math.max(...channelA.sentSizes), MAX_CHANNEL_MESSAGE);
    const sentBefore = channelA.sentSizes.length;
    a.fitMessagesTo(16 * KiB);
    const frames = [testBytes(100 * KiB, 2), testBytes(10, 3)];
    for (const frame of frames) a.send(frame);
    await within(atB.until(3), 5_000, "the frames after fitting");
    const after = channelA.sentSizes.slice(sentBefore);
    assert.equal(Math.max(...after), 16 * KiB);
    assert.equal(after.length, Math.ceil((100 * KiB + 3 * 7 + 10 + 3) / (16 * KiB)));
    assert.deepEqual(atB.frames.slice(1), frames);
  });

  test("small frames sent together are coalesced into full channel messages", async () => {
    const { a, b, channelA } = linkPair();
    const atB = recordLink(b);
    const frames = Array.from({ length: 5000 }, (_, i) => testBytes(100, i));
    for (const frame of frames) a.send(frame);
    await within(atB.until(frames.length), 10_000, "5000 frames");
    // 5000 records of 3 + 100 bytes fill ceil(515000 / 65536) messages, every one full but the last.
    assert.equal(channelA.sentSizes.length, Math.ceil((5000 * 103) / MAX_CHANNEL_MESSAGE));
    assert.ok(channelA.sentSizes.slice(0, -1).every((size) => size === MAX_CHANNEL_MESSAGE));
    assert.equal(sha256(...atB.frames), sha256(...frames));
  });

  test("frames sent one per turn while the channel is full keep coalescing", async () => {
    const { a, b, channelA } = linkPair({}, { highWaterMark: 64 * KiB, lowWaterMark: 16 * KiB });
    const atB = recordLink(b);
    channelA.pause();
    a.send(testBytes(MiB, 1));
    const small = Array.from({ length: 2000 }, (_, i) => testBytes(20, i));
    for (const frame of small) {
      a.send(frame);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const before = channelA.sentSizes.length;
    assert.ok(channelA.bufferedAmount <= 64 * KiB);
    channelA.resume();
    await within(atB.until(2001), 10_000, "2001 frames");
    // What was queued behind the full channel: the rest of the 1 MiB frame, then 2000 records of 23 bytes.
    const queued =
      MiB +
      3 * Math.ceil(MiB / (MAX_CHANNEL_MESSAGE - 3)) -
      channelA.sentSizes.slice(0, before).reduce((x, y) => x + y, 0) +
      2000 * 23;
    assert.equal(channelA.sentSizes.length - before, Math.ceil(queued / MAX_CHANNEL_MESSAGE));
    assert.equal(sha256(...atB.frames.slice(1)), sha256(...small));
  });

  test("the channel's bufferedAmount stays under the high-water mark; the link counts its own queue", async () => {
    const highWaterMark = 256 * KiB;
    const { a, b, channelA } = linkPair({ bytesPerTurn: 32 * KiB }, { highWaterMark, lowWaterMark: 64 * KiB });
    const atB = recordLink(b, { keep: false });
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 128; i++) sent.push(testBytes(64 * KiB, i));
    for (const frame of sent) a.send(frame);
    assert.ok(a.bufferedAmount >= 8 * MiB, `bufferedAmount right after sending 8 MiB: ${a.bufferedAmount}`);
    let samples = 0;
    const sampler = setInterval(() => {
      samples++;
      assert.ok(a.bufferedAmount >= channelA.bufferedAmount);
    }, 1);
    await within(atB.untilBytes(8 * MiB), 20_000, "8 MiB").finally(() => clearInterval(sampler));
    assert.ok(channelA.maxBufferedAmount <= highWaterMark, `channel reached ${channelA.maxBufferedAmount}`);
    assert.ok(channelA.maxBufferedAmount > highWaterMark / 2, `channel only reached ${channelA.maxBufferedAmount}`);
    assert.ok(samples > 0);
    assert.equal(atB.digest(), sha256(...sent));
    assert.equal(a.bufferedAmount, 0);
  });

  test("without bufferedamountlow events the link polls and still respects the high-water mark", async () => {
    const { a, b, channelA } = linkPair({ bytesPerTurn: 64 * KiB, lowEvent: false }, { pollInterval: 1 });
    const atB = recordLink(b, { keep: false });
    const sent = Array.from({ length: 32 }, (_, i) => testBytes(128 * KiB, i));
    for (const frame of sent) a.send(frame);
    await within(atB.untilBytes(4 * MiB), 20_000, "4 MiB by polling");
    assert.ok(channelA.maxBufferedAmount <= MiB, `channel reached ${channelA.maxBufferedAmount}`);
    assert.equal(atB.digest(), sha256(...sent));
  });

  test("close(code, reason) delivers every queued frame first, then the code and reason, at both ends", async () => {
    const { a, b, channelA, channelB, finished } = linkPair({ bytesPerTurn: 32 * KiB });
    const atA = recordLink(a);
    const atB = recordLink(b, { keep: false });
    const sent = Array.from({ length: 48 }, (_, i) => testBytes(64 * KiB + i, i));
    for (const frame of sent) a.send(frame);
    a.close(CloseCode.Replaced, "replaced by a test");
    assert.equal(a.closed, true);
    assert.doesNotThrow(() => a.send(Uint8Array.of(1)), "send after close is a no-op");
    assert.deepEqual(await within(atB.closed, 10_000, "close at b"), {
      code: CloseCode.Replaced,
      reason: "replaced by a test",
    });
    assert.equal(atB.order.length, sent.length + 1);
    assert.equal(atB.order.at(-1), "close");
    assert.equal(atB.digest(), sha256(...sent));
    assert.deepEqual(atA.closes, [{ code: CloseCode.Replaced, reason: "replaced by a test" }]);
    await within(Promise.all([finished.a, finished.b]), 5_000, "both ends finished");
    assert.equal(channelA.readyState, "closed");
    assert.equal(channelB.readyState, "closed");
    assert.equal(channelA.dropped, 0, "nothing was discarded by closing the channel");
    assert.equal(atB.closes.length, 1);
    assert.equal(atA.closes.length, 1);
  });

  test("both ends closing at once each see their own code once", async () => {
    const { a, b, finished } = linkPair();
    const atA = recordLink(a);
    const atB = recordLink(b);
    a.close(4101, "from a");
    b.close(4102, "from b");
    await within(Promise.all([finished.a, finished.b]), 5_000, "both finished");
    assert.deepEqual(atA.closes, [{ code: 4101, reason: "from a" }]);
    assert.deepEqual(atB.closes, [{ code: 4102, reason: "from b" }]);
  });

  test("a channel that dies without end of stream reports 1006 with a reason, at both ends", async () => {
    const { a, b, channelA, finished } = linkPair({ bytesPerTurn: 16 * KiB });
    const atA = recordLink(a);
    const atB = recordLink(b, { keep: false });
    for (let i = 0; i < 64; i++) a.send(testBytes(64 * KiB, i));
    await within(atB.untilBytes(256 * KiB), 5_000, "some data");
    channelA.kill();
    const [closeA, closeB] = await within(Promise.all([atA.closed, atB.closed]), 5_000, "close reports");
    for (const event of [closeA, closeB]) {
      assert.equal(event.code, 1006);
      assert.match(event.reason, /\w/);
    }
    assert.ok(atB.bytes < 4 * MiB);
    await within(Promise.all([finished.a, finished.b]), 5_000, "finished");
  });

  test("a frame over the receiver's maxFrame closes the link with 1009 at both ends", async () => {
    const { a, b } = linkPair({}, {}, { maxFrame: 1000 });
    const atA = recordLink(a);
    const atB = recordLink(b);
    a.send(testBytes(1000, 1));
    a.send(testBytes(1001, 2));
    assert.equal((await within(atB.closed, 5_000, "close at b")).code, CloseCode.TooBig);
    assert.equal((await within(atA.closed, 5_000, "close at a")).code, CloseCode.TooBig);
    assert.equal(atB.frames.length, 1);
  });

  test("a malformed message closes the link with 4000 at both ends", async () => {
    const { a, b, channelA } = linkPair();
    const atA = recordLink(a);
    const atB = recordLink(b);
    channelA.send(Uint8Array.of(9, 0, 0));
    assert.equal((await within(atB.closed, 5_000, "close at b")).code, CloseCode.Protocol);
    assert.equal((await within(atA.closed, 5_000, "close at a")).code, CloseCode.Protocol);
  });

  test("frames that arrive before listen() are delivered once it is called", async () => {
    const { a, b } = linkPair();
    a.send(Uint8Array.of(1));
    a.send(Uint8Array.of(2, 2));
    // The far end has no handlers; delivery is a macrotask away on the fake network, so wait for the
    // channel to have handed both messages over (its bufferedAmount falls to zero).
    await within(
      new Promise<void>((resolve) => {
        const check = () => (a.bufferedAmount === 0 ? resolve() : setImmediate(check));
        setImmediate(check);
      }),
      5_000,
      "delivery",
    );
    const atB = recordLink(b);
    await within(atB.until(2), 5_000, "queued frames");
    assert.deepEqual(atB.frames, [Uint8Array.of(1), Uint8Array.of(2, 2)]);
  });

  test("close gives up waiting for the other end after closeTimeout and closes the channel", async () => {
    const [channelA] = fakeChannelPair();
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    // No link on the other end, so nobody answers End by closing its side.
    const a = new DataChannelLink(channelA, { closeTimeout: 20, onFinished: () => finished() });
    const atA = recordLink(a);
    a.send(testBytes(100, 1));
    a.close(CloseCode.GoingAway, "bye");
    await within(done, 5_000, "finish after closeTimeout");
    assert.notEqual(channelA.readyState, "open");
    assert.deepEqual(atA.closes, [{ code: CloseCode.GoingAway, reason: "bye" }]);
  });
});
