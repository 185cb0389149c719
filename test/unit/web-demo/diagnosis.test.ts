// Failures as causes (web-demo/app/diagnosis.ts): one cause per kind of error, told apart by what the
// page knows (a timeout while the tab had no relay is "disconnected", not a slow member), grouped and
// numbered as the page's list numbers them; and the outage tally that counts requests through a relay
// outage (web-demo/app/relays/outage-log.ts).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ClosedError,
  KeyError,
  NoMembersError,
  OverloadedError,
  RemoteError,
  TimeoutError,
} from "../../../core/index.ts";
import { FailureGroups, diagnose, numberRanges } from "../../../web-demo/app/diagnosis.ts";
import type { DiagnosisContext } from "../../../web-demo/app/diagnosis.ts";
import { OutageLog } from "../../../web-demo/app/relays/outage-log.ts";
import { buildTopology } from "../../../web-demo/app/topology/model.ts";
import type { ControlStatus } from "../../../web-demo/app/topology/model.ts";
import { A1, A2, R1, R2, report } from "../../fixtures/dashboard/reports.ts";

const connected: DiagnosisContext = { kind: "cluster", name: "echo", development: true, disconnected: false };

describe("diagnosis", () => {
  test("a timeout while connected is the member's; while disconnected, it is the tab's, with the way out", () => {
    const slow = diagnose(new TimeoutError(`request 68 to "echo" timed out after 1000 ms`), connected);
    assert.equal(slow.cause, "timeout");
    assert.doesNotMatch(slow.what, /request 68/, "core's internal request number is not the page's");
    const cut = diagnose(new TimeoutError("request 68 timed out"), {
      ...connected,
      disconnected: true,
      lastDrop: "ws://127.0.0.1:7601: closed",
    });
    assert.equal(cut.cause, "disconnected");
    assert.match(cut.what, /not connected to any relay \(lost ws:\/\/127\.0\.0\.1:7601: closed\)/);
    assert.match(cut.next, /reconnects by itself/);
    assert.equal(diagnose(new ClosedError("link lost"), { ...connected, disconnected: true }).cause, "disconnected");
  });

  test("each of core's errors has its own cause and next step, in the mode's terms", () => {
    assert.equal(diagnose(new NoMembersError("no members"), connected).cause, "no-members");
    assert.match(diagnose(new NoMembersError("no members"), connected).next, /Serve a cluster from this tab/);
    assert.match(
      diagnose(new NoMembersError("no members"), { ...connected, development: false }).what,
      /this link's key/,
    );
    assert.equal(diagnose(new KeyError("no key"), { ...connected, development: false }).cause, "no-key");
    assert.equal(diagnose(new OverloadedError("busy"), connected).cause, "overloaded");
    const threw = diagnose(new RemoteError("boom"), connected);
    assert.equal(threw.cause, "handler-failed");
    assert.notEqual(
      threw.key,
      diagnose(new RemoteError("other"), connected).key,
      "different messages, different problems",
    );
  });

  test("failures are grouped by cause, largest first, numbered in ranges", () => {
    const groups = new FailureGroups();
    for (const n of [3, 4, 5, 6, 7, 8, 9, 10])
      groups.add(n, diagnose(new TimeoutError("x"), { ...connected, disconnected: true }));
    groups.add(12, diagnose(new NoMembersError("x"), connected));
    const list = groups.list();
    assert.deepEqual(
      list.map(({ diagnosis, numbers }) => [diagnosis.cause, numberRanges(numbers)]),
      [
        ["disconnected", "#3–#10"],
        ["no-members", "#12"],
      ],
    );
    assert.equal(numberRanges([1, 2, 5, 7, 8, 9]), "#1, #2, #5, #7–#9");
  });
});

describe("outage tally", () => {
  const control = (url: string, name: string, state: ControlStatus["state"]): ControlStatus => ({
    url,
    name,
    state,
    pid: null,
    relayId: null,
    lastExit: null,
    since: 0,
  });
  const topology = (second: ControlStatus["state"]) =>
    buildTopology({
      ownRelay: R1,
      reports: new Map([
        [R1, report(R1)],
        [R2, second === "up" ? report(R2) : null],
      ]),
      addresses: new Map(),
      stackRelays: [A1, A2],
      control: [control(A1, "relay 1", "up"), control(A2, "relay 2", second)],
      selfPeer: "a",
      directPeers: [],
    });

  test("counts the requests sent while a relay is down, and how each ended, even after it is back", () => {
    const log = new OutageLog();
    log.observe(topology("up"), 0);
    log.sent(5); // before: not counted
    log.expect(A2, "killed from this page");
    log.observe(topology("down"), 10);
    for (const at of [11, 12, 13]) log.sent(at);
    log.settled({
      ok: false,
      cluster: "echo",
      diagnosis: diagnose(new TimeoutError("x"), connected),
      ms: 1,
      sentAt: 11,
    });
    log.settled({ ok: true, cluster: "echo", text: "", responder: "x", said: "", ms: 1, route: "relay", sentAt: 12 });
    log.observe(topology("up"), 20);
    log.sent(21); // after: not counted
    log.settled({ ok: true, cluster: "echo", text: "", responder: "x", said: "", ms: 1, route: "relay", sentAt: 13 });
    const [outage] = log.all;
    assert.equal(outage?.what, "relay 2 (killed from this page)");
    assert.equal(outage?.ended, 20);
    assert.deepEqual([outage?.sent, outage?.answered, outage?.failed], [3, 2, 1]);
    assert.equal(log.current, null);
  });
});
