// The relay's log: JSON records with a stable event name off a terminal, text on one, levels per event,
// and a rate limit on what outsiders can trigger at will, with a summary of what it left out.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LOG_BURST, LOG_WINDOW_MS, formatText, relayLogger } from "../../../relay-server/log.ts";
import type { RelayLoggerOptions } from "../../../relay-server/log.ts";
import { VirtualClock } from "../../fixtures/virtual-clock.ts";

function capture(options: Partial<RelayLoggerOptions> = {}) {
  const lines: string[] = [];
  const clock = new VirtualClock();
  const logger = relayLogger({
    level: "info",
    format: "json",
    terminal: false,
    write: (line) => lines.push(line),
    clock,
    ...options,
  });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records, clock };
}

describe("relay log", () => {
  test("off a terminal, one JSON object a line: level name, ISO time, pid, event, then the fields", () => {
    const { logger, lines } = capture({ format: "auto", terminal: false });
    logger.log("relay-listening", { url: "ws://127.0.0.1:1", maxMessage: 1024 });
    assert.equal(lines.length, 1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(record), ["level", "time", "pid", "event", "url", "maxMessage"]);
    assert.equal(record.level, "info");
    assert.equal(record.event, "relay-listening");
    assert.equal(record.url, "ws://127.0.0.1:1");
    assert.equal(record.maxMessage, 1024);
    assert.equal(record.pid, process.pid);
    assert.ok(!Number.isNaN(Date.parse(String(record.time))), `time ${record.time}`);
  });

  test("on a terminal, or with the text format, a line for people with the same event and fields", () => {
    for (const options of [{ format: "auto" as const, terminal: true }, { format: "text" as const }]) {
      const { logger, lines } = capture(options);
      logger.log("slow-consumer", { peer: "ab12", queued: 9000, policy: "disconnect" });
      assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\S+Z WARN {2}slow-consumer peer=ab12 queued=9000 policy=disconnect$/);
    }
  });

  test("text quotes values with spaces, quotes or equals signs, and empty ones", () => {
    const line = formatText({
      level: "warn",
      time: "t",
      event: "peer-error",
      reason: 'bad "frame" here',
      a: "",
      b: "x=y",
    });
    assert.equal(line, 't WARN  peer-error reason="bad \\"frame\\" here" a="" b="x=y"');
  });

  test("each event has its level: a peer's comings and goings are debug, refusals warn", () => {
    const info = capture({ level: "info" });
    info.logger.log("peer-joined", { peer: "p" });
    info.logger.log("join", { peer: "p" });
    info.logger.log("relay-linked", { relay: "r" });
    info.logger.log("address-limit", { address: "a" });
    assert.deepEqual(
      info.records().map((r) => [r.event, r.level]),
      [
        ["relay-linked", "info"],
        ["address-limit", "warn"],
      ],
    );
    const debug = capture({ level: "debug" });
    debug.logger.log("peer-joined", { peer: "p" });
    assert.equal(debug.records()[0]!.level, "debug");
    const warn = capture({ level: "warn" });
    warn.logger.log("relay-linked", { relay: "r" });
    warn.logger.log("relay-failed", { error: "port in use" });
    assert.deepEqual(
      warn.records().map((r) => r.event),
      ["relay-failed"],
    );
    const silent = capture({ level: "silent" });
    silent.logger.log("relay-failed", { error: "x" });
    assert.equal(silent.lines.length, 0);
  });

  test("a flood of refusals writes a burst of lines per window, then one summary of the rest", () => {
    const { logger, records, clock } = capture();
    for (let i = 0; i < 500; i++) logger.log("address-limit", { address: "127.0.0.1", what: "links" });
    logger.log("relay-linked", { relay: "r" }); // not throttled, not held back by the flood
    assert.equal(records().filter((r) => r.event === "address-limit").length, LOG_BURST);
    assert.equal(records().at(-1)!.event, "relay-linked");
    assert.equal(logger.suppressed().get("address-limit"), 500 - LOG_BURST);
    clock.advanceSync(LOG_WINDOW_MS);
    const summary = records().at(-1)!;
    assert.deepEqual(
      { event: summary.event, level: summary.level, of: summary.of, lines: summary.lines },
      { event: "log-suppressed", level: "warn", of: "address-limit", lines: 500 - LOG_BURST },
    );
    // A new window writes again.
    logger.log("address-limit", { address: "127.0.0.1", what: "links" });
    assert.equal(records().at(-1)!.event, "address-limit");
  });

  test("a window that left nothing out ends without a summary; flush() summarizes open windows now", () => {
    const { logger, records, clock } = capture();
    logger.log("peer-error", { peer: "p", code: 4001 });
    clock.advanceSync(LOG_WINDOW_MS);
    assert.deepEqual(
      records().map((r) => r.event),
      ["peer-error"],
    );
    for (let i = 0; i < LOG_BURST + 3; i++) logger.log("network-key-refused", { remote: "x" });
    logger.flush();
    assert.deepEqual(records().at(-1)!.lines, 3);
    assert.equal(clock.pending, 0, "flushing cancels the window's timer");
  });
});
