// The role side of the orchestrator's IPC: announce readiness, connect on request, run the role's own
// operations and answer each call by its id, and leave when the orchestrator goes away.

import { nodeCrypto } from "../../../core/node.ts";
import type { Endpoint, RoleAnswer, RoleCall, RoleReady } from "../protocol.ts";
import { openClient } from "./client.ts";
import type { BenchClient } from "./client.ts";

// Each operation declares the argument type it expects; `never` lets any of them into one table.
type Operation = (args: never) => Promise<unknown>;

export function serveRole(makeOps: (client: () => BenchClient) => Record<string, Operation>): void {
  let connected: BenchClient | null = null;
  const client = () => {
    if (!connected) throw new Error("not connected: call connect first");
    return connected;
  };
  const ops: Record<string, Operation> = {
    ...makeOps(client),
    async connect(endpoint: Endpoint) {
      connected = await openClient(endpoint);
      return true;
    },
    async close() {
      await connected?.close();
      connected = null;
      return true;
    },
  };

  const send = (message: RoleAnswer | RoleReady) => process.send!(message);
  process.on("message", (message: RoleCall) => {
    const op = ops[message.op] as ((args: unknown) => Promise<unknown>) | undefined;
    if (!op) return send({ id: message.id, error: `unknown operation ${message.op}` });
    op(message.args).then(
      (result) => send({ id: message.id, result }),
      (error: Error) => send({ id: message.id, error: `${error.name}: ${error.message}` }),
    );
  });
  // Without the orchestrator there is nobody to report to: never outlive it.
  process.on("disconnect", () => process.exit(0));
  send({ event: "ready", pid: process.pid, secretbox: nodeCrypto.secretbox.name });
}
