// Relay configuration: flags over environment over the config file over defaults, every setting
// reachable all three ways, and every problem reported before the relay listens, in the words the
// operator used: the flag, the variable by its own name, or the file's key.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../../relay-server/config.ts";
import type { RelayServerConfig } from "../../../relay-server/config.ts";
import { SETTINGS, allSettings } from "../../../relay-server/settings.ts";
import type { Setting } from "../../../relay-server/settings.ts";
import { RELAY_DEFAULTS } from "../../../core/relay/relay.ts";
import { generateKey, parseKey } from "../../../core/crypto/keys.ts";

const FILE = "/etc/iris/relay.json";

function files(content: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = content[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
}

function load(argv: string[], env: Record<string, string> = {}, file?: object): RelayServerConfig {
  const readFile = files(file === undefined ? {} : { [FILE]: JSON.stringify(file) });
  const invocation = loadConfig({ argv: file === undefined ? argv : ["--config", FILE, ...argv], env, readFile });
  assert.notEqual(invocation.command, "help");
  return (invocation as { config: RelayServerConfig }).config;
}

/** The problems a configuration is refused with. */
function problemsOf(argv: string[], env: Record<string, string> = {}, file?: object | string): string[] {
  const text = typeof file === "string" ? file : JSON.stringify(file);
  const readFile = files(file === undefined ? {} : { [FILE]: text });
  try {
    loadConfig({ argv: file === undefined ? argv : ["--config", FILE, ...argv], env, readFile });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail("the configuration was accepted");
}

function refused(argv: string[], pattern: RegExp, env: Record<string, string> = {}, file?: object | string): void {
  const problems = problemsOf(argv, env, file);
  assert.ok(
    problems.some((problem) => pattern.test(problem)),
    `no problem matches ${pattern}: ${problems.join("; ")}`,
  );
}

/** A valid value unlike the default, as text and as JSON, for any setting. */
function sample(key: string, setting: Setting<unknown>): { text: string; json: unknown; value: unknown } {
  const type = setting.kind.type;
  if (key === "networkKey") {
    const text = generateKey();
    return { text, json: text, value: parseKey(text) };
  }
  if (type.startsWith("list"))
    return { text: "ws://127.0.0.1:1", json: ["ws://127.0.0.1:1"], value: ["ws://127.0.0.1:1"] };
  if (type.includes("URL"))
    return { text: "wss://relay.example:443", json: "wss://relay.example:443", value: "wss://relay.example:443" };
  if (type === "file path")
    return { text: "/var/lib/iris/file", json: "/var/lib/iris/file", value: "/var/lib/iris/file" };
  if (type === "address") return { text: "::1", json: "::1", value: "::1" };
  if (type.startsWith("a secret")) return { text: "s".repeat(32), json: "s".repeat(32), value: "s".repeat(32) };
  const range = /from (\d+) to (\d+)/.exec(type);
  if (range) {
    const value = Number(range[1]) === setting.default ? Number(range[2]) : Number(range[1]);
    return { text: String(value), json: value, value };
  }
  const choices = type.split(" | ");
  const other = choices.find((choice) => choice !== setting.default);
  if (choices.length > 1 && other) return { text: other, json: other, value: other };
  throw new Error(`no sample for ${key} (${type}): teach this test the new kind`);
}

/** Flags a setting cannot go without (see the cross-checks below). */
const COMPANIONS: Record<string, string[]> = {
  tlsCert: ["--tls-key", "/etc/iris/relay.key"],
  tlsKey: ["--tls-cert", "/etc/iris/relay.crt"],
};

describe("relay configuration", () => {
  test("defaults: loopback, port 7600, an open backbone, the documented limits", () => {
    const config = load([]);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 7600);
    assert.equal(config.networkKey, null);
    assert.deepEqual(config.seeds, []);
    assert.equal(config.maxMessage, RELAY_DEFAULTS.maxMessage);
    assert.equal(config.queueLimit, RELAY_DEFAULTS.outboundQueueLimit);
    assert.equal(config.maxJoinsPerPeer, 1024);
    assert.equal(config.maxTunnelsPerPeer, 256);
    assert.equal(config.maxLinksPerAddress, 1024);
    assert.equal(config.maxHandshakesPerAddress, 32);
    assert.equal(config.handshakeTimeoutMs, 5000);
    assert.equal(config.slowConsumer, "disconnect");
    assert.equal(config.logLevel, "info");
  });

  test("every setting is reachable by its flag, its variable and its file key", () => {
    for (const [key, setting] of allSettings()) {
      const { text, json, value } = sample(key, setting);
      const companions = COMPANIONS[key] ?? [];
      assert.deepEqual(load([setting.flag, text, ...companions])[key], value, `${setting.flag} ${text}`);
      assert.deepEqual(load([`${setting.flag}=${text}`, ...companions])[key], value, `${setting.flag}=${text}`);
      assert.deepEqual(load(companions, { [setting.env]: text })[key], value, `${setting.env}=${text}`);
      assert.deepEqual(load(companions, {}, { [key]: json })[key], value, `"${key}": ${JSON.stringify(json)}`);
    }
  });

  test("flags win over the environment, which wins over the file, which wins over defaults", () => {
    const file = { port: 7000, host: "127.0.0.2", maxJoinsPerPeer: 7, seeds: ["ws://127.0.0.1:9"] };
    const env = { IRIS_PORT: "8000", IRIS_HOST: "::1", IRIS_SEEDS: "ws://127.0.0.1:1, ws://127.0.0.1:2" };
    const fromFile = load([], {}, file);
    assert.deepEqual([fromFile.port, fromFile.host, fromFile.maxJoinsPerPeer], [7000, "127.0.0.2", 7]);
    assert.deepEqual(fromFile.seeds, ["ws://127.0.0.1:9"]);
    const fromEnv = load([], env, file);
    assert.deepEqual([fromEnv.port, fromEnv.host, fromEnv.maxJoinsPerPeer], [8000, "::1", 7]);
    assert.deepEqual(fromEnv.seeds, ["ws://127.0.0.1:1", "ws://127.0.0.1:2"]);
    const fromFlags = load(["--port", "0", "--seed", "ws://127.0.0.1:3", "--seed=ws://127.0.0.1:4"], env, file);
    assert.equal(fromFlags.port, 0);
    assert.equal(fromFlags.host, "::1");
    assert.deepEqual(fromFlags.seeds, ["ws://127.0.0.1:3", "ws://127.0.0.1:4"], "repeated flags add up");
  });

  test("an empty value means the default, whatever a lower layer says", () => {
    const file = { port: 7000, seeds: ["ws://127.0.0.1:9"], advertise: "wss://relay.example" };
    const config = load(["--seed=", "--advertise="], { IRIS_PORT: "" }, file);
    assert.equal(config.port, 7600);
    assert.deepEqual(config.seeds, []);
    assert.equal(config.advertise, null);
  });

  test("the last of a repeated single-valued flag wins", () => {
    assert.equal(load(["--port", "0", "--port", "9"]).port, 9);
  });

  test("IRIS_CONFIG names the file when --config does not", () => {
    const readFile = files({ [FILE]: JSON.stringify({ port: 1234 }) });
    const invocation = loadConfig({ argv: [], env: { IRIS_CONFIG: FILE }, readFile });
    assert.equal(invocation.command, "run");
    assert.equal((invocation as { config: RelayServerConfig }).config.port, 1234);
  });

  test("file paths in the file are relative to the file; on the command line, to the working directory", () => {
    assert.equal(load([], {}, { tap: "frames.bin" }).tap, "/etc/iris/frames.bin");
    assert.equal(load(["--tap", "frames.bin"]).tap, "frames.bin");
  });

  test("a bad value is named by the flag, the variable or the file key that gave it", () => {
    refused(["--port", "70000"], /^--port must be an integer from 0 to 65535, not "70000"$/);
    refused([], /^IRIS_PORT must be an integer from 0 to 65535, not "seventy"$/, { IRIS_PORT: "seventy" });
    refused(
      [],
      /^\/etc\/iris\/relay\.json: "port" must be an integer from 0 to 65535, not "7600"$/,
      {},
      { port: "7600" },
    );
    refused([], /^IRIS_MAX_MESSAGE must be an integer from 1024/, { IRIS_MAX_MESSAGE: "1.5" });
    refused(["--max-joins-per-peer", "0"], /^--max-joins-per-peer must be an integer from 1/);
    refused(["--slow-consumer", "ignore"], /^--slow-consumer must be one of disconnect or drop, not "ignore"$/);
    refused([], /^IRIS_LOG_LEVEL must be one of debug, info, warn, error, silent/, { IRIS_LOG_LEVEL: "verbose" });
    refused(["--seed", "http://127.0.0.1:1"], /^--seed must be a ws:\/\/ or wss:\/\/ URL, not "http:\/\/127.0.0.1:1"$/);
    refused([], /"seeds" must be a list of ws:\/\/ or wss:\/\/ URLs/, {}, { seeds: "ws://127.0.0.1:1" });
    refused([], /"seeds" must be a ws:\/\/ or wss:\/\/ URL, not 7/, {}, { seeds: ["ws://127.0.0.1:1", 7] });
  });

  test("an admin token too short to be a secret is refused, and never echoed", () => {
    const problems = problemsOf([], { IRIS_ADMIN_TOKEN: "hunter2" }).join("\n");
    assert.match(problems, /^IRIS_ADMIN_TOKEN must be a secret of at least 16 characters, not 7$/);
    assert.doesNotMatch(problems, /hunter2/);
  });

  test("a network key of the wrong length says that 32 bytes are expected, and never echoes the key", () => {
    const short = "c2hvcnQ";
    refused([], /^IRIS_NETWORK_KEY must be 32 bytes in base64url .*not 5 bytes$/, { IRIS_NETWORK_KEY: short });
    refused(["--network-key", short], /^--network-key must be 32 bytes in base64url/);
    refused([], /"networkKey" must be 32 bytes in base64url .*it is not base64url/, {}, { networkKey: "no way!" });
    const problems = problemsOf(["--network-key", short]).join("\n");
    assert.doesNotMatch(problems, new RegExp(short));
  });

  test("unknown flags and file keys are errors, named, with the nearest known name", () => {
    refused(["--nope", "1"], /^unknown option --nope \(see --help\)$/);
    refused(["--prot", "1"], /^unknown option --prot \(did you mean --port\?\)/);
    refused(
      [],
      /^\/etc\/iris\/relay\.json: unknown key "maxMesage" \(did you mean maxMessage\?\)$/,
      {},
      { maxMesage: 1 },
    );
    refused([], /unknown key "max-message"/, {}, { "max-message": 1 });
  });

  test("every problem is reported at once, each on its own", () => {
    const problems = problemsOf(["--port", "x", "--nope"], { IRIS_HEARTBEAT_MS: "0" }, { seeds: 1, bogus: true });
    assert.equal(problems.length, 5, problems.join("\n"));
  });

  test("a value is checked even where a higher layer overrides it", () => {
    refused(["--port", "0"], /^IRIS_PORT must be/, { IRIS_PORT: "x" });
    refused(["--port", "0"], /"port" must be/, {}, { port: -1 });
  });

  test("a config file that is missing, not JSON or not an object is refused, named", () => {
    assert.match(
      problemsOf(["--config", "/nowhere.json"])[0]!,
      /^\/nowhere\.json: cannot read the config file: ENOENT/,
    );
    refused([], /^\/etc\/iris\/relay\.json: not valid JSON/, {}, "{ port: 1 }");
    refused([], /^\/etc\/iris\/relay\.json: must hold a JSON object of settings/, {}, "[1]");
  });

  test("settings that go together are refused alone, named all three ways", () => {
    refused(
      ["--tls-cert", "/c"],
      /^--tls-cert and --tls-key go together \(IRIS_TLS_CERT, IRIS_TLS_KEY; "tlsCert", "tlsKey"\)$/,
    );
    refused([], /--tls-cert and --tls-key go together/, { IRIS_TLS_KEY: "/k" });
    assert.equal(load(["--tls-cert", "/c"], { IRIS_TLS_KEY: "/k" }).tlsKey, "/k");
    refused(
      ["--admin-port", "9", "--admin-host", "0.0.0.0"],
      /^--admin-host 0\.0\.0\.0 opens .* set --admin-token too/,
    );
    assert.equal(load(["--admin-port", "9", "--admin-host", "::1"]).adminHost, "::1", "loopback needs no token");
    assert.equal(load(["--admin-host", "0.0.0.0"]).adminPort, null, "no admin listener, nothing to open");
    const withToken = load(["--admin-port", "9", "--admin-host", "0.0.0.0"], { IRIS_ADMIN_TOKEN: "t".repeat(16) });
    assert.equal(withToken.adminToken, "t".repeat(16));
  });

  test("a flag without its value, and stray words, are refused", () => {
    refused(["--port"], /^--port needs a value$/);
    refused(["stray"], /^unexpected argument: stray$/);
  });

  test("--help asks for the help text, --check-config for a check", () => {
    assert.equal(loadConfig({ argv: ["--help"], env: {} }).command, "help");
    assert.equal(loadConfig({ argv: ["-h"], env: {} }).command, "help");
    const check = loadConfig({
      argv: ["--check-config", "--config", FILE],
      env: {},
      readFile: files({ [FILE]: "{}" }),
    });
    assert.equal(check.command, "check");
    assert.equal((check as { file: string | null }).file, FILE);
  });

  test("the table names every flag and variable once", () => {
    const flags = allSettings().map(([, setting]) => setting.flag);
    const envs = allSettings().map(([, setting]) => setting.env);
    assert.equal(new Set(flags).size, flags.length);
    assert.equal(new Set(envs).size, envs.length);
    for (const flag of flags) assert.match(flag, /^--[a-z][a-z-]*$/);
    for (const env of envs) assert.match(env, /^IRIS_[A-Z_]+$/);
    assert.equal(SETTINGS.seeds.repeatable, true);
  });
});
