// One line per notable event: an ISO timestamp, the event name, then key=value fields. Easy to grep,
// easy for tests to read the listening address from.

import type { LogLevel } from "./settings.ts";

export type LogFields = Record<string, string | number | boolean>;

export type Logger = (event: string, fields?: LogFields) => void;

const QUIET_EVENTS = new Set(["join", "peer-joined", "peer-left"]);

export function lineLogger(write: (line: string) => void, level: LogLevel): Logger {
  return (event, fields = {}) => {
    if (level === "silent") return;
    if (level !== "debug" && QUIET_EVENTS.has(event)) return;
    let line = `${new Date().toISOString()} ${event}`;
    for (const [key, value] of Object.entries(fields)) line += ` ${key}=${formatValue(value)}`;
    write(line);
  };
}

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return /[\s"=]/.test(text) || text === "" ? JSON.stringify(text) : text;
}
