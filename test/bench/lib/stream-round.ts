// One round of a stream transfer, every role in its own process: N MiB through an iris-mesh tunnel (one
// relay, or three with the caller on A and the member on C), or the same bytes in messages of the same
// size through a bare `ws` forwarder (sender -> forwarder -> receiver), the baseline. The receiver hashes
// everything (SHA-256) and may stop reading for a while in the middle.

import type { SendStreamResult, StreamReport, StreamVia } from "../protocol.ts";
import { meterCpu, perUnit } from "./cpu.ts";
import type { CpuPerUnit, MeteredProcess } from "./cpu.ts";
import type { RolePool } from "./role-pool.ts";
import type { Role } from "./roles.ts";
import { startServer } from "./servers.ts";
import type { Route, Server } from "./servers.ts";

/** iris-mesh through one or three relays, or raw WebSocket forwarding. */
export type StreamSystem = "iris" | "iris3" | "ws";

/**
 * How the receiver pauses: it stops reading (the tunnel's member stops iterating, the raw receiver pauses
 * its socket) while its process runs on; or its whole process is stopped (SIGSTOP, then SIGCONT), as a
 * long GC pause or a starved CPU would: it reads nothing from its sockets and answers no heartbeat.
 */
export type PauseKind = "reader" | "process";

export interface StreamPlan {
  service: string;
  total: number;
  messageSize: number;
  /** The receiver pauses for `pauseMs` once this many bytes are in; -1 never. */
  pauseAfter: number;
  pauseMs: number;
  pause: PauseKind;
}

export interface StreamRound {
  system: StreamSystem;
  plan: StreamPlan;
  /** Payload MB/s, from the sender's first message to the receiver's last. */
  megabytesPerSecond: number;
  received: number;
  /** Every byte arrived, in order, unaltered (equal SHA-256 at both ends), and neither end saw an error. */
  intact: boolean;
  senderError: string | null;
  receiverError: string | null;
  pausedMs: number;
  /** CPU µs per message of `messageSize`, process by process. */
  cpu: CpuPerUnit;
  serverWarnings: string[];
  route: Route | null;
}

const SEND_TIMEOUT_MS = 180_000;
const POLL_MS = 100;
/** After the sender is done (or failed), how long the receiver may go without progress. */
const QUIET_MS = 12_000;

export async function runStreamRound(
  system: StreamSystem,
  plan: StreamPlan,
  keys: Record<string, string>,
  pool: RolePool,
): Promise<StreamRound> {
  let server: Server | null = null;
  let roles: Role[] = [];
  try {
    let via: StreamVia;
    let route: Route | null = null;
    const processes: MeteredProcess[] = [];
    let sender: Role;
    let receiver: Role;
    if (system === "ws") {
      roles = await pool.take(["stream-sender", "ws-forwarder", "stream-receiver"]);
      const [first, forwarder, last] = roles as [Role, Role, Role];
      [sender, receiver] = [first, last];
      via = { kind: "ws", url: (await forwarder.call<{ url: string }>("listen")).url };
      processes.push({ name: "ws forwarder", pid: forwarder.ready.pid });
      await receive(receiver, via, plan);
    } else {
      server = await startServer(system, keys, null);
      roles = await pool.take(["stream-sender", "stream-receiver"]);
      [sender, receiver] = roles as [Role, Role];
      await Promise.all([sender.call("connect", server.sender), receiver.call("connect", server.receiver)]);
      via = { kind: "tunnel", subject: plan.service };
      await receive(receiver, via, plan);
      route = await server.routeReady("cluster", 1);
      processes.push(...server.processes());
    }
    const meter = meterCpu([
      { name: "sender", pid: sender.ready.pid },
      ...processes,
      { name: "receiver", pid: receiver.ready.pid },
    ]);
    let sent: SendStreamResult | null = null;
    let sendFailure: string | null = null;
    const sending = sender
      .call<SendStreamResult>("send", { via, total: plan.total, messageSize: plan.messageSize }, SEND_TIMEOUT_MS)
      .then(
        (result) => void (sent = result),
        (error: Error) => void (sendFailure = error.message),
      );
    const report = await waitForReceiver(receiver, plan, () => sent !== null || sendFailure !== null);
    await sending;
    const usage = meter.stop();
    const result = sent as SendStreamResult | null;
    const named = (text: string | null) => (text && server ? server.name(text) : text);
    const senderError = named(result?.error ?? sendFailure);
    const receiverError = named(report.done ? report.error : `still waiting after ${report.bytes} bytes`);
    const seconds = result ? (report.lastAt - result.startedAt) / 1000 : NaN;
    return {
      system,
      plan,
      megabytesPerSecond: seconds > 0 ? report.bytes / 1e6 / seconds : NaN,
      received: report.bytes,
      intact:
        result !== null &&
        !senderError &&
        !receiverError &&
        report.bytes === plan.total &&
        report.sha256 === result.sha256,
      senderError,
      receiverError,
      pausedMs: report.pausedMs,
      cpu: perUnit(usage, plan.total / plan.messageSize),
      serverWarnings: server?.warnings() ?? [],
      route,
    };
  } finally {
    await pool.giveBack(roles);
    await server?.stop();
  }
}

/** Asks the receiver to listen; a pause of its reader is its own to make, a stop of its process is ours. */
function receive(receiver: Role, via: StreamVia, plan: StreamPlan): Promise<unknown> {
  const reader = plan.pause === "reader";
  return receiver.call("receive", {
    via,
    total: plan.total,
    pauseAfter: reader ? plan.pauseAfter : -1,
    pauseMs: reader ? plan.pauseMs : 0,
  });
}

/** Stops the receiver's process for `ms`: it runs no code at all, reads no socket, answers no heartbeat. */
async function stopProcess(receiver: Role, ms: number): Promise<number> {
  const started = performance.now();
  process.kill(receiver.ready.pid, "SIGSTOP");
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    process.kill(receiver.ready.pid, "SIGCONT");
  }
  return performance.now() - started;
}

/**
 * Resolves once the receiver's stream ended, or it made no progress for a while after the sender
 * finished. Stops the receiver's process halfway if the plan says so.
 */
async function waitForReceiver(receiver: Role, plan: StreamPlan, senderDone: () => boolean): Promise<StreamReport> {
  let last = -1;
  let quietSince = performance.now();
  let stoppedMs = -1;
  for (;;) {
    const received = await receiver.call<StreamReport | null>("report");
    const report = received && stoppedMs >= 0 ? { ...received, pausedMs: stoppedMs } : received;
    if (report?.done) return report;
    const bytes = report?.bytes ?? 0;
    if (plan.pause === "process" && plan.pauseAfter >= 0 && stoppedMs < 0 && bytes >= plan.pauseAfter) {
      stoppedMs = await stopProcess(receiver, plan.pauseMs);
      quietSince = performance.now();
      continue;
    }
    if (bytes !== last || !senderDone()) {
      last = bytes;
      quietSince = performance.now();
    } else if (performance.now() - quietSince > QUIET_MS) {
      return (
        report ?? { bytes: 0, messages: 0, sha256: "", firstAt: 0, lastAt: 0, done: false, error: null, pausedMs: 0 }
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
