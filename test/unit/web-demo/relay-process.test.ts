// Reading a relay's readiness from its output (web-demo/relay-process.ts), in the text format relays
// print today and in JSON lines, as they will once their logs change; and who may use the relay
// controls (web-demo/relay-control.ts).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { refusalOf } from "../../../web-demo/relay-control.ts";
import { listeningLine } from "../../../web-demo/relay-process.ts";

const ID = "0123456789abcdef0123456789abcdef";

describe("a relay's listening line", () => {
  test("text: event then key=value fields", () => {
    assert.deepEqual(
      listeningLine(
        `2026-11-26T10:00:00.000Z relay-listening url=ws://127.0.0.1:7601 relay=${ID} address=ws://127.0.0.1:7601 seeds=none`,
      ),
      { url: "ws://127.0.0.1:7601", relayId: ID },
    );
  });

  test("JSON lines, with the event as msg, in any field order", () => {
    assert.deepEqual(
      listeningLine(`{"level":30,"time":1,"msg":"relay-listening","relay":"${ID}","url":"ws://127.0.0.1:7601"}`),
      {
        url: "ws://127.0.0.1:7601",
        relayId: ID,
      },
    );
    assert.deepEqual(listeningLine(`{"msg":"relay-listening","url":"wss://[::1]:443"}`), {
      url: "wss://[::1]:443",
      relayId: null,
    });
  });

  test("any other line is not it", () => {
    assert.equal(listeningLine("2026-11-26T10:00:00.000Z relay-linked url=ws://127.0.0.1:7602"), null);
    assert.equal(listeningLine(`{"msg":"peer-joined","url":"ws://127.0.0.1:7601"}`), null);
  });
});

describe("who may use the relay controls", () => {
  const request = (remote: string, host: string, origin?: string) =>
    ({ socket: { remoteAddress: remote }, headers: { host, ...(origin ? { origin } : {}) } }) as unknown as Parameters<
      typeof refusalOf
    >[0];

  test("the dashboard's own page on this machine may", () => {
    assert.equal(refusalOf(request("127.0.0.1", "127.0.0.1:7680")), null);
    assert.equal(refusalOf(request("::ffff:127.0.0.1", "localhost:7680", "http://localhost:7680")), null);
    assert.equal(refusalOf(request("::1", "[::1]:7680")), null);
  });

  test("another machine, another name (DNS rebinding), or another page's origin may not", () => {
    assert.match(refusalOf(request("192.168.1.20", "192.168.1.10:7680")) ?? "", /only on this machine/);
    assert.match(refusalOf(request("127.0.0.1", "evil.example:7680")) ?? "", /loopback name/);
    assert.match(refusalOf(request("127.0.0.1", "127.0.0.1:7680", "http://evil.example")) ?? "", /own page/);
  });
});
