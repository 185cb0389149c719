// One rule for every duration the public API takes (timeouts, delays, intervals), checked at the entry
// of each call by the one function below, so that a bad value fails at once with an error that names the
// option, instead of misbehaving later inside a timer:
//
//   a duration is a number of milliseconds, greater than 0 and at most MAX_DURATION (2^31 - 1, about
//   24.8 days, the longest delay JavaScript timers keep: setTimeout fires at once for anything longer);
//   `Infinity` means "no limit" and is held to MAX_DURATION, which no process outlives in practice.
//
// Names carry no unit: `timeout`, `connectTimeout`, `heartbeatInterval`, `reconnect.maxDelay`.

/**
 * The longest duration any option accepts, in milliseconds: 2^31 - 1, about 24.8 days (the longest
 * delay JavaScript timers keep). `Infinity` is accepted too, and means this.
 *
 * @example
 * ```ts
 * await conn.request("batch", job, { timeout: Infinity }); // the same as timeout: MAX_DURATION
 * ```
 */
export const MAX_DURATION = 2 ** 31 - 1;

/** The rule, as error messages state it. */
export const DURATION_RULE = `a number of milliseconds greater than 0 and at most ${MAX_DURATION}, or Infinity for no limit`;

/**
 * Checks `value` against the rule and returns it in milliseconds, Infinity held to MAX_DURATION; the
 * fallback when it is undefined. `name` says where it came from, e.g. "request: `timeout`".
 * @throws TypeError when it is not a number, RangeError when it is outside the rule.
 */
export function duration(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be ${DURATION_RULE}; got ${describe(value)}`);
  }
  if (value === Number.POSITIVE_INFINITY) return MAX_DURATION;
  if (!(value > 0 && value <= MAX_DURATION)) {
    throw new RangeError(`${name} must be ${DURATION_RULE}; got ${value}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  return typeof value;
}
