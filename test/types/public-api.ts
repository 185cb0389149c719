// Type-level tests of the public API, checked by `npm run typecheck`: each line marked as an expected
// error must fail to compile, or the typecheck fails ("unused directive").

import type { Connection } from "../../core/node.ts";

declare const conn: Connection;

// Events are typed exactly: a misspelt name does not compile, and payloads have their fields.
// @ts-expect-error "dorp" is not an event
conn.on("dorp", () => {});
conn.on("drop", ({ code, reason }) => {
  code satisfies number;
  reason satisfies string;
});
// @ts-expect-error a drop has no `peerId`
conn.on("drop", ({ peerId }) => peerId);
