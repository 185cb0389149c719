// A relay's configuration from three layers: flags win over environment variables, which win over the
// config file (--config, JSON), which wins over the defaults in settings.ts. Every problem found is
// reported at once, before the relay listens, each naming the flag, the variable or the file's key the
// operator wrote, so the message points at the line to fix.

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CONFIG_ENV, CONFIG_FLAG, SETTINGS, allSettings } from "./settings.ts";
import type { RelayServerConfig, Setting, SettingKey } from "./settings.ts";
import { InvalidValue } from "./setting-kinds.ts";

export type { RelayServerConfig } from "./settings.ts";

/** What the command line asks for. */
export type Invocation =
  | { command: "help" }
  /** `check`: --check-config, validate and exit. `file`: the config file read, if any. */
  | { command: "run" | "check"; config: RelayServerConfig; file: string | null };

/** Everything wrong with a configuration, one problem a line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

const HELP_FLAGS = new Set(["--help", "-h"]);
const CHECK_FLAG = "--check-config";

const BY_FLAG = new Map<string, SettingKey>(allSettings().map(([key, setting]) => [setting.flag, key]));

export interface ConfigSources {
  argv: string[];
  env: Record<string, string | undefined>;
  /** Reads the config file; tests may hand in their own. */
  readFile?: (path: string) => string;
}

export function loadConfig({ argv, env, readFile = (path) => readFileSync(path, "utf8") }: ConfigSources): Invocation {
  const problems: string[] = [];
  const flags = parseArgv(argv, problems);
  if (flags.help) return { command: "help" };

  const configPath = flags.configPath ?? (env[CONFIG_ENV] || null);
  const file = configPath === null ? null : readConfigFile(configPath, readFile, problems);

  const config: Record<string, unknown> = {};
  for (const [key, setting] of allSettings()) {
    // Every layer is checked, even one a higher layer overrides: a value that is wrong today is an
    // outage waiting for the day the override goes.
    const fromFile = file && key in file.values ? fromJson(setting, key, file, problems) : undefined;
    const envText = env[setting.env];
    const fromEnv = envText === undefined ? undefined : fromText(setting, envText, setting.env, problems);
    const flagTexts = flags.values.get(key);
    const fromFlags = flagTexts === undefined ? undefined : fromTexts(setting, flagTexts, setting.flag, problems);
    config[key] = firstSet(fromFlags, fromEnv, fromFile, setting.default);
  }
  const checked = config as RelayServerConfig;
  problems.push(...crossChecks(checked));
  if (problems.length > 0) throw new ConfigError(problems);
  return { command: flags.check ? "check" : "run", config: checked, file: configPath };
}

/** What a layer says: a value, `DEFAULT` (an empty value: the default, whatever lower layers say), or nothing. */
const DEFAULT = Symbol("default");
type Layer = unknown | typeof DEFAULT | undefined;

function firstSet(...layers: [Layer, Layer, Layer, unknown]): unknown {
  const [flag, env, file, fallback] = layers;
  for (const layer of [flag, env, file]) {
    if (layer === DEFAULT) return fallback;
    if (layer !== undefined) return layer;
  }
  return fallback;
}

interface ParsedArgv {
  help: boolean;
  check: boolean;
  configPath: string | null;
  /** Flag texts by setting, in order (a repeatable flag may have several). */
  values: Map<SettingKey, string[]>;
}

function parseArgv(argv: string[], problems: string[]): ParsedArgv {
  const parsed: ParsedArgv = { help: false, check: false, configPath: null, values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (HELP_FLAGS.has(arg)) {
      parsed.help = true;
      continue;
    }
    if (arg === CHECK_FLAG) {
      parsed.check = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      problems.push(`unexpected argument: ${arg}`);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const known = BY_FLAG.get(flag);
    if (known === undefined && flag !== CONFIG_FLAG) {
      problems.push(`unknown option ${flag}${suggestion(flag, [...BY_FLAG.keys(), CONFIG_FLAG])} (see --help)`);
      if (eq < 0 && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) i++;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) {
      problems.push(`${flag} needs a value`);
      continue;
    }
    if (known === undefined) {
      parsed.configPath = value;
      continue;
    }
    const texts = parsed.values.get(known);
    if (texts && SETTINGS[known].repeatable) texts.push(value);
    else parsed.values.set(known, [value]);
  }
  return parsed;
}

interface ConfigFile {
  path: string;
  dir: string;
  values: Record<string, unknown>;
}

function readConfigFile(path: string, readFile: (path: string) => string, problems: string[]): ConfigFile | null {
  let textContent: string;
  try {
    textContent = readFile(path);
  } catch (error) {
    problems.push(`${path}: cannot read the config file: ${(error as Error).message}`);
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(textContent);
  } catch (error) {
    problems.push(`${path}: not valid JSON: ${(error as Error).message}`);
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    problems.push(`${path}: must hold a JSON object of settings, like {"port": 7600}`);
    return null;
  }
  const values = parsed as Record<string, unknown>;
  const keys = Object.keys(SETTINGS);
  for (const name of Object.keys(values)) {
    if (!keys.includes(name)) problems.push(`${path}: unknown key "${name}"${suggestion(name, keys)}`);
  }
  return { path, dir: dirname(resolve(path)), values };
}

function fromJson(setting: Setting<unknown>, key: string, file: ConfigFile, problems: string[]): Layer {
  try {
    return setting.kind.fromJson(file.values[key], file.dir);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    problems.push(`${file.path}: "${key}" ${error.message}`);
    return undefined;
  }
}

function fromText(setting: Setting<unknown>, text: string, where: string, problems: string[]): Layer {
  if (text === "") return DEFAULT;
  try {
    return setting.kind.fromText(text);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    problems.push(`${where} ${error.message}`);
    return undefined;
  }
}

/** A repeatable flag's values together (lists), or a single flag's last word. */
function fromTexts(setting: Setting<unknown>, texts: string[], where: string, problems: string[]): Layer {
  if (!setting.repeatable) return fromText(setting, texts[texts.length - 1]!, where, problems);
  const given = texts.filter((text) => text !== "");
  if (given.length === 0) return DEFAULT;
  const lists = given.map((text) => fromText(setting, text, where, problems));
  if (lists.some((list) => list === undefined)) return undefined;
  return (lists as unknown[][]).flat();
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Settings that only make sense together. */
function crossChecks(config: RelayServerConfig): string[] {
  const problems: string[] = [];
  const { tlsCert, tlsKey } = SETTINGS;
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    problems.push(
      `${tlsCert.flag} and ${tlsKey.flag} go together (${tlsCert.env}, ${tlsKey.env}; "tlsCert", "tlsKey")`,
    );
  }
  // What the admin listener shows is for the operator: beyond loopback, only with a token.
  if (config.adminPort !== null && !LOOPBACK.test(config.adminHost) && config.adminToken === null) {
    const { adminHost, adminToken } = SETTINGS;
    problems.push(
      `${adminHost.flag} ${config.adminHost} opens the relay's status and metrics beyond this machine: ` +
        `set ${adminToken.flag} too (${adminToken.env}, "adminToken")`,
    );
  }
  return problems;
}

/** ` (did you mean --port?)` for a near miss: at most two letters off. */
function suggestion(name: string, known: string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === null ? "" : ` (did you mean ${best}?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = row;
  }
  return previous[b.length]!;
}
