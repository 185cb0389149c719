// Role: hold many idle peers in one process, each its own connection (its own identity and WebSocket) to
// one relay, attached and doing nothing: what a relay full of quiet browser tabs looks like to it.

import { connect } from "../../../core/node.ts";
import type { Connection } from "../../../core/node.ts";
import type { IdleOpenArgs, IdleOpenResult, IdleStatus } from "../protocol.ts";
import { serveRole } from "./role.ts";

const MAX_REASONS = 5;
const peers: Connection[] = [];
let drops = 0;
const dropReasons: string[] = [];

async function openOne(args: IdleOpenArgs): Promise<void> {
  const peer = await connect({ relays: [args.relay], keys: args.keys, connectTimeout: 60_000 });
  peer.on("drop", ({ code, reason }) => {
    drops++;
    if (dropReasons.length < MAX_REASONS) dropReasons.push(`${code} ${reason}`);
  });
  peers.push(peer);
}

serveRole(() => ({
  async open(args: IdleOpenArgs): Promise<IdleOpenResult> {
    const started = performance.now();
    const result: IdleOpenResult = { opened: 0, failed: 0, firstFailure: null, elapsedMs: 0 };
    let next = 0;
    const worker = async () => {
      while (next < args.count) {
        next++;
        try {
          await openOne(args);
          result.opened++;
        } catch (error) {
          result.failed++;
          result.firstFailure ??= (error as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(args.concurrency, args.count) }, worker));
    result.elapsedMs = performance.now() - started;
    return result;
  },
  async status(): Promise<IdleStatus> {
    const attached = peers.filter((peer) => peer.relay !== null).length;
    return { attached, drops, dropReasons, rss: process.memoryUsage().rss };
  },
}));
