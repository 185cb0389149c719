// The one rule for durations: milliseconds in (0, 2^31 - 1], or Infinity held to 2^31 - 1; anything
// else refused with an error that names the option and states the rule.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DURATION_RULE, MAX_DURATION, duration } from "../../../core/util/duration.ts";

test("a duration in range comes back as given, fractions included", () => {
  for (const value of [Number.MIN_VALUE, 0.5, 1, 1000, MAX_DURATION]) assert.equal(duration(value, "x", 7), value);
});

test("undefined takes the default", () => {
  assert.equal(duration(undefined, "x", 1234), 1234);
});

test("Infinity means no limit, held to the longest timer JavaScript keeps", () => {
  assert.equal(MAX_DURATION, 2 ** 31 - 1);
  assert.equal(duration(Number.POSITIVE_INFINITY, "x", 7), MAX_DURATION);
});

test("zero, negatives, NaN, -Infinity and anything past 2^31 - 1 are RangeErrors naming the option", () => {
  for (const value of [0, -0, -1, Number.NaN, Number.NEGATIVE_INFINITY, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
    assert.throws(
      () => duration(value, "request: `timeout`", 7),
      (error: unknown) =>
        error instanceof RangeError &&
        error.message.startsWith("request: `timeout` must be ") &&
        error.message.includes(DURATION_RULE) &&
        error.message.endsWith(`got ${value}`),
      String(value),
    );
  }
});

test("a value that is not a number is a TypeError naming the option and what it got", () => {
  const cases: Array<[unknown, string]> = [
    ["1000", 'got "1000"'],
    [null, "got null"],
    [1000n, "got bigint"],
    [{}, "got object"],
  ];
  for (const [value, got] of cases) {
    assert.throws(
      () => duration(value, "connect: `connectTimeout`", 7),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.includes("connect: `connectTimeout`") &&
        error.message.endsWith(got),
    );
  }
});
