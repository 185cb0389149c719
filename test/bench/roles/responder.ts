// Role: answer every request with its own body (the member of the iris-mesh cluster, the NATS responder).

import type { ServeArgs } from "../protocol.ts";
import { serveRole } from "./role.ts";

serveRole((client) => ({
  async serve(args: ServeArgs) {
    await client().serveEcho(args.subject);
    return true;
  },
}));
