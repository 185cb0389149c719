// The settings table (settings.ts) as people read it: `iris-relay --help`, and the options table in
// the README. Both are made from the table, so neither can drift from what the relay accepts; a test
// fails when the README holds another table than this one makes (`npm run docs:relay-options` fixes it).

import { CONFIG_ENV, CONFIG_FLAG, allSettings } from "./settings.ts";
import type { Setting, SettingGroup } from "./settings.ts";

const WIDTH = 100;
const FLAG_COLUMN = 32;

/** How a default reads: sizes in KiB/MiB beside the bytes, lists joined, null as "none". */
export function defaultOf(setting: Setting<unknown>): string {
  if (setting.defaultText !== undefined) return setting.defaultText;
  const value = setting.default;
  if (typeof value === "number" && setting.kind.type.startsWith("bytes") && value >= 1024) {
    const [unit, size] = value >= 1 << 20 ? ["MiB", value / (1 << 20)] : ["KiB", value / 1024];
    return Number.isInteger(size) ? `${value} (${size} ${unit})` : String(value);
  }
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.join(", ");
  return value === null ? "none" : String(value);
}

function wrap(words: string, indent: number, first: number): string[] {
  const lines: string[] = [];
  let line = "";
  let room = WIDTH - first;
  for (const word of words.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > room) {
      lines.push(line);
      line = "";
      room = WIDTH - indent;
    }
    line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** A flag, its help beside it, and (on a line of their own) its variable, file key and default. */
function entry(left: string, help: string, where?: string): string {
  const pad = " ".repeat(FLAG_COLUMN);
  const [first = "", ...rest] = wrap(help, FLAG_COLUMN, FLAG_COLUMN);
  if (where) rest.push(...wrap(where, FLAG_COLUMN, FLAG_COLUMN));
  const head = left.length < FLAG_COLUMN - 1 ? left.padEnd(FLAG_COLUMN) + first : `${left}\n${pad}${first}`;
  return [head, ...rest.map((line) => pad + line)].join("\n");
}

function groups(): Map<SettingGroup, Array<[string, Setting<unknown>]>> {
  const byGroup = new Map<SettingGroup, Array<[string, Setting<unknown>]>>();
  for (const [key, setting] of allSettings()) {
    const list = byGroup.get(setting.group) ?? [];
    list.push([key, setting]);
    byGroup.set(setting.group, list);
  }
  return byGroup;
}

export function helpText(): string {
  const out = [
    "iris-relay: a relay of the iris-mesh network",
    "",
    "Usage: iris-relay [--config <file>] [options]",
    "       iris-relay --config <file> --check-config",
    "",
    ...wrap(
      "Every option is also an environment variable and a key of the config file (JSON). Flags win over " +
        "variables, which win over the file; an empty value (--seed= or IRIS_SEEDS=) means the default.",
      0,
      0,
    ),
    "",
    entry(`  ${CONFIG_FLAG} <file>`, `a JSON file of settings, by the keys below (${CONFIG_ENV})`),
    entry("  --check-config", "check the configuration, then exit: 0 if it is good"),
    entry("  --help", "print this help"),
  ];
  for (const [group, settings] of groups()) {
    out.push("", group);
    for (const [key, setting] of settings) {
      const where = `${setting.env}, "${key}"; default ${defaultOf(setting)}`;
      out.push(entry(`  ${setting.flag} ${setting.kind.placeholder}`, setting.help, where));
    }
  }
  out.push(
    "",
    ...wrap(
      "SIGTERM or SIGINT drains the relay: it accepts nothing new, lets work in progress finish, asks its " +
        "peers to move to other relays, then exits. The relay never holds cluster or topic keys: it routes " +
        "sealed payloads it cannot read.",
      0,
      0,
    ),
    "",
  );
  return out.join("\n");
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** The README's options table, columns padded as the README's other tables are. */
export function optionsTable(): string {
  const rows: string[][] = [["file key", "flag", "environment variable", "type", "default", "what it sets"]];
  rows.push([
    "—",
    `\`${CONFIG_FLAG}\``,
    `\`${CONFIG_ENV}\``,
    "file path",
    "none",
    "a JSON file of the settings below, by their keys; relative paths in it are relative to it",
  ]);
  for (const [key, setting] of allSettings()) {
    const flag = setting.repeatable ? `\`${setting.flag}\` (repeatable)` : `\`${setting.flag}\``;
    rows.push(
      [`\`${key}\``, flag, `\`${setting.env}\``, setting.kind.type, defaultOf(setting), setting.help].map(cell),
    );
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((text, column) => text.padEnd(widths[column]!)).join(" | ")} |`;
  return [
    line(rows[0]!),
    `| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

export const TABLE_BEGIN =
  "<!-- relay-options: made from relay-server/settings.ts by `npm run docs:relay-options`; edit the settings, not this table -->";
export const TABLE_END = "<!-- /relay-options -->";

/** The README with its options table replaced by the one the settings make. */
export function withOptionsTable(readme: string): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`the README has no ${TABLE_BEGIN} ... ${TABLE_END} section`);
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n\n${optionsTable()}\n\n${readme.slice(end)}`;
}
