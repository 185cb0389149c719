// Type-level tests of the public API, checked by `npm run typecheck`: each line marked as an expected
// error must fail to compile, or the typecheck fails ("unused directive").

import { connect } from "../../core/node.ts";
import type { Connection, Tunnel } from "../../core/node.ts";

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

// A tunnel's events are typed exactly too.
declare const tunnel: Tunnel;
tunnel.on("route", ({ route }) => route satisfies "relay" | "direct");
// @ts-expect-error "rout" is not a tunnel event
tunnel.on("rout", () => {});

// Internal options are not part of the public option types.
// @ts-expect-error signalingOnly is the connection's own business
conn.tunnel("db", { signalingOnly: true });
// @ts-expect-error the dialer is injected by the entry, not an application option
connect({ relays: ["ws://127.0.0.1:7600"], dialer: undefined });
// @ts-expect-error durations carry no unit in their names: heartbeatInterval, not heartbeatMs
connect({ relays: ["ws://127.0.0.1:7600"], webrtc: { heartbeatMs: 1000 } });

// Every call that waits takes an AbortSignal.
declare const signal: AbortSignal;
connect({ relays: ["ws://127.0.0.1:7600"], signal, webrtc: { heartbeatInterval: 1000, connectTimeout: 5000 } });
conn.request("db", "x", { signal, timeout: Number.POSITIVE_INFINITY });
conn.broadcast("db", "x", { signal });
conn.publish("news", "x", { signal });
conn.subscribe("news", () => {}, { signal, timeout: 1000 });
conn.register("db", {}, { signal, timeout: 1000 });
conn.tunnel("db", { signal, timeout: 1000 });
conn.inspect(undefined, { signal, timeout: 1000 });
