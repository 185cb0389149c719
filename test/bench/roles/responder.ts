// Role: answer every request with its own body (a member of the iris-mesh cluster, a NATS responder or
// queue group member), counting what it answered.

import type { ServeArgs, ServeReport } from "../protocol.ts";
import { serveRole } from "./role.ts";

let served = 0;

serveRole((client) => ({
  async serve(args: ServeArgs) {
    // A role process serves a new client every round: count this one's requests.
    served = 0;
    await client().serve(
      args.subject,
      (body) => {
        served++;
        return body;
      },
      args.group,
    );
    return true;
  },
  async served(): Promise<ServeReport> {
    return { served };
  },
}));
