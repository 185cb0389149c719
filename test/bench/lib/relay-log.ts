// Reading a relay's output, whichever of its two formats it writes: one text line per event
// (`<time> relay-listening url=ws://... relay=...`) or one JSON object per line (pino style, when its
// stdout is not a terminal), carrying the event's name (as `event`, or `msg`) and its fields.

/** The event's name and fields of one line, or null for a line that is neither format. */
export function parseRelayLine(line: string): { event: string; fields: Record<string, unknown> } | null {
  const trimmed = line.trim();
  if (trimmed.startsWith("{")) {
    try {
      const fields = JSON.parse(trimmed) as Record<string, unknown>;
      const named = [fields.event, fields.msg, fields.message].find((value) => typeof value === "string") as
        | string
        | undefined;
      if (!named) return null;
      // A message may read "relay-listening url=..." too: its first word is the event, then fields.
      const [event = "", ...rest] = named.split(/\s+/);
      return { event, fields: { ...keyValues(rest.join(" ")), ...fields } };
    } catch {
      return null;
    }
  }
  const found = /^(?:\S+\s+)?(relay-[\w-]+|peer-[\w-]+|slow-consumer|join)\b(.*)$/.exec(trimmed);
  if (!found) return null;
  return { event: found[1]!, fields: keyValues(found[2]!) };
}

/** `key=value key="quoted value"` pairs. */
function keyValues(text: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [, key, quoted, bare] of text.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)) {
    fields[key!] = quoted !== undefined ? JSON.parse(`"${quoted}"`) : bare;
  }
  return fields;
}

/** The URL a relay is listening on, once its output says so. */
export function listeningUrl(log: string): string | null {
  for (const line of log.split("\n")) {
    const parsed = parseRelayLine(line);
    if (parsed?.event !== "relay-listening") continue;
    const url = parsed.fields.url;
    if (typeof url === "string" && url) return url;
  }
  return null;
}

/** Events a relay logs in the ordinary course of a benchmark round: not worth a reader's attention. */
const ROUTINE = new Set([
  "admin-listening",
  "relay-listening",
  "relay-stopping",
  "relay-stopped",
  "relay-draining",
  "relay-drained",
]);
/** While a backbone forms, relays link, and close duplicate links. */
const ROUTINE_WHILE_FORMING = new Set([...ROUTINE, "relay-linked", "relay-unlinked"]);

/** Whether a line of a relay's output is routine; blank lines are, lines in no known format are not. */
export function isRoutineRelayLine(line: string, forming: boolean): boolean {
  if (line.trim() === "") return true;
  const parsed = parseRelayLine(line);
  if (!parsed) return false;
  // Warnings and errors, whatever the event: pino's numbers 40 and above, or their names.
  const level = parsed.fields.level;
  if (typeof level === "number" && level >= 40) return false;
  if (level === "warn" || level === "error" || level === "fatal") return false;
  return (forming ? ROUTINE_WHILE_FORMING : ROUTINE).has(parsed.event);
}
