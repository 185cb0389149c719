// A relay's log: one record per notable event, with a stable event name and fields, through pino.
// Off a terminal (or with --log-format json) each record is one JSON line for a log pipeline:
//   {"level":"info","time":"2026-12-03T17:13:28.123Z","pid":4242,"event":"relay-listening","url":"wss://..."}
// On a terminal (or with text) the same record reads as
//   2026-12-03T17:13:28.123Z INFO  relay-listening url=wss://...
// Events a remote party can trigger at will are rate-limited (log-throttle.ts).

import { pino } from "pino";
import type { Level } from "pino";
import { systemClock } from "../core/util/clock.ts";
import type { Clock } from "../core/util/clock.ts";
import { LogThrottle } from "./log-throttle.ts";
import type { LogFormat, LogLevel } from "./settings.ts";

export type LogFields = Record<string, string | number | boolean>;

export type Logger = (event: string, fields?: LogFields) => void;

/**
 * The level of each event; unlisted events are `info`. A peer's comings and goings are `debug`: a relay
 * with ten thousand peers should not write a line for each by default.
 */
const EVENT_LEVELS: Readonly<Record<string, Level>> = {
  join: "debug",
  "peer-joined": "debug",
  "peer-left": "debug",
  "address-limit": "warn",
  "join-refused": "warn",
  "log-suppressed": "warn",
  "network-key-refused": "warn",
  "peer-error": "warn",
  "relay-dial-failed": "warn",
  "relay-error": "warn",
  "relay-link-overflow": "warn",
  "slow-consumer": "warn",
  "tap-enabled": "warn",
  "relay-failed": "error",
};

/** Events any outsider can cause as often as it likes: written `LOG_BURST` times a window, then counted. */
const THROTTLED = new Set(["address-limit", "join-refused", "network-key-refused", "peer-error", "slow-consumer"]);
export const LOG_BURST = 20;
export const LOG_WINDOW_MS = 10_000;

/** Fields of a JSON record that the text form shows in its own way (or not at all). */
const FRAME_FIELDS = new Set(["level", "time", "pid", "hostname", "event"]);

export interface RelayLogger {
  readonly log: Logger;
  /** Lines the rate limit left out since start, by event. */
  suppressed(): ReadonlyMap<string, number>;
  /** Writes the summaries of lines left out so far: call before exiting. */
  flush(): void;
}

export interface RelayLoggerOptions {
  level: LogLevel;
  /** `auto` is decided by the caller (terminal or not) through `terminal`. */
  format: LogFormat;
  /** Whether the output is a terminal, for `auto`. */
  terminal: boolean;
  /** Receives each line, without its newline. */
  write(line: string): void;
  clock?: Clock;
}

export function relayLogger(options: RelayLoggerOptions): RelayLogger {
  const text = options.format === "text" || (options.format === "auto" && options.terminal);
  const destination = {
    write: (chunk: string) => {
      const line = chunk.endsWith("\n") ? chunk.slice(0, -1) : chunk;
      options.write(text ? formatText(JSON.parse(line) as Record<string, unknown>) : line);
    },
  };
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not pino's numbers: the lines are read by people and by pipelines alike.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const write = (event: string, fields: LogFields) => {
    logger[EVENT_LEVELS[event] ?? "info"]({ event, ...fields });
  };
  const throttle = new LogThrottle({
    burst: LOG_BURST,
    windowMs: LOG_WINDOW_MS,
    clock: options.clock ?? systemClock,
    summarize: (event, lines, windowMs) => write("log-suppressed", { of: event, lines, windowMs }),
  });
  return {
    log: (event, fields = {}) => {
      if (!logger.isLevelEnabled(EVENT_LEVELS[event] ?? "info")) return;
      if (THROTTLED.has(event) && !throttle.admit(event)) return;
      write(event, fields);
    },
    suppressed: () => throttle.suppressed(),
    flush: () => throttle.flush(),
  };
}

/** A record as a line for people: time, level, event, then the fields as key=value. */
export function formatText(record: Record<string, unknown>): string {
  const level = String(record.level ?? "info").toUpperCase();
  let line = `${String(record.time ?? "")} ${level.padEnd(5)} ${String(record.event ?? record.msg ?? "")}`;
  for (const [key, value] of Object.entries(record)) {
    if (!FRAME_FIELDS.has(key)) line += ` ${key}=${formatValue(value)}`;
  }
  return line;
}

function formatValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return /[\s"=]/.test(text) || text === "" ? JSON.stringify(text) : text;
}
