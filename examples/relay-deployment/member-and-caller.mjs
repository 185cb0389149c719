// A member of cluster "db" on one relay and a caller on another, in one process for brevity (in a
// deployment they are different services). Run with NODE_EXTRA_CA_CERTS=tls/relay.crt so that Node
// trusts the example's self-signed certificate: `node member-and-caller.mjs <wss://member-relay>
// <wss://caller-relay>`, with DB_KEY holding the cluster's key (from `generateKey()`).

import { connect } from "iris-mesh";

const [memberRelay, callerRelay] = process.argv.slice(2);
const keys = { db: process.env.DB_KEY };

const member = await connect({ relays: [memberRelay], keys });
await member.register("db", { request: () => "pong from the member on relay c" });

const caller = await connect({ relays: [callerRelay], keys });
const reply = await caller.request("db", "ping", { timeout: 10_000 });
console.log(`reply: ${new TextDecoder().decode(reply)}`);

await caller.close();
await member.close();
