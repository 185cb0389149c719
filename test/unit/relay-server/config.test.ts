// Relay configuration: flags over environment over defaults, and a clear ConfigError for anything a
// relay could not run with, before it listens.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../../relay-server/config.ts";
import type { RelayServerConfig } from "../../../relay-server/config.ts";
import { RELAY_DEFAULTS } from "../../../core/relay/relay.ts";
import { generateKey, parseKey } from "../../../core/crypto/keys.ts";

function parse(argv: string[], env: Record<string, string> = {}): RelayServerConfig {
  const config = parseConfig(argv, env);
  assert.notEqual(config, "help");
  return config as RelayServerConfig;
}

function refused(argv: string[], pattern: RegExp, env: Record<string, string> = {}): void {
  assert.throws(
    () => parseConfig(argv, env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe("relay configuration", () => {
  test("defaults: loopback, port 7600, an open backbone, the documented limits", () => {
    const config = parse([]);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 7600);
    assert.equal(config.networkKey, null);
    assert.deepEqual(config.seeds, []);
    assert.equal(config.maxMessage, RELAY_DEFAULTS.maxMessage);
    assert.equal(config.outboundQueueLimit, RELAY_DEFAULTS.outboundQueueLimit);
    assert.equal(config.maxJoinsPerPeer, 1024);
    assert.equal(config.maxTunnelsPerPeer, 256);
    assert.equal(config.maxLinksPerAddress, 1024);
    assert.equal(config.maxHandshakesPerAddress, 32);
    assert.equal(config.handshakeTimeoutMs, 5000);
    assert.equal(config.slowConsumer, "disconnect");
  });

  test("every limit can be set by flag, in either spelling", () => {
    const config = parse([
      "--max-joins-per-peer",
      "10",
      "--max-tunnels-per-peer=5",
      "--max-links-per-address",
      "7",
      "--max-handshakes-per-address",
      "3",
      "--max-message",
      "4096",
      "--queue-limit",
      "65536",
      "--handshake-timeout",
      "250",
      "--slow-consumer",
      "drop",
      "--max-relay-links",
      "2",
    ]);
    assert.deepEqual(
      [config.maxJoinsPerPeer, config.maxTunnelsPerPeer, config.maxLinksPerAddress, config.maxHandshakesPerAddress],
      [10, 5, 7, 3],
    );
    assert.deepEqual(
      [config.maxMessage, config.outboundQueueLimit, config.handshakeTimeoutMs, config.maxRelayLinks],
      [4096, 65536, 250, 2],
    );
    assert.equal(config.slowConsumer, "drop");
  });

  test("flags win over the environment, which wins over defaults", () => {
    const key = generateKey();
    const env = {
      IRIS_PORT: "9000",
      IRIS_HOST: "::1",
      IRIS_SEEDS: "ws://127.0.0.1:1, ws://127.0.0.1:2",
      IRIS_NETWORK_KEY: key,
    };
    const fromEnv = parse([], env);
    assert.equal(fromEnv.port, 9000);
    assert.equal(fromEnv.host, "::1");
    assert.deepEqual(fromEnv.seeds, ["ws://127.0.0.1:1", "ws://127.0.0.1:2"]);
    assert.deepEqual(fromEnv.networkKey, parseKey(key));
    const fromFlags = parse(["--port", "0", "--seed", "ws://127.0.0.1:3"], env);
    assert.equal(fromFlags.port, 0);
    assert.deepEqual(fromFlags.seeds, ["ws://127.0.0.1:3"]);
  });

  test("nonsense is refused with the flag's name and what was wrong", () => {
    refused(["--port", "70000"], /--port must be an integer from 0 to 65535/);
    refused(["--max-joins-per-peer", "0"], /--max-joins-per-peer must be an integer from 1/);
    refused(["--max-tunnels-per-peer", "lots"], /--max-tunnels-per-peer must be an integer/);
    refused(["--slow-consumer", "ignore"], /--slow-consumer must be disconnect or drop/);
    refused(["--log", "verbose"], /--log must be info, debug or quiet/);
    refused(["--seed", "http://127.0.0.1:1"], /--seed must be a ws:\/\/ or wss:\/\/ URL/);
    refused(["--network-key", "short"], /network-key/);
    refused(["--nope", "1"], /unknown option --nope/);
    refused(["--port"], /--port needs a value/);
    refused(["stray"], /unexpected argument: stray/);
  });

  test("--help asks for the help text", () => {
    assert.equal(parseConfig(["--help"], {}), "help");
  });
});
