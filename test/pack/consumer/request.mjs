// A plain Node script, as a user writes one: no TypeScript, no loader. It serves a cluster and calls
// it through the relay in IRIS_RELAYS, then meets two errors a new user meets first.

import { connect, generateKey, UnreachableError } from "iris-mesh";

const keys = { shout: generateKey() };
const conn = await connect({ relays: [process.env.IRIS_RELAYS], keys });
await conn.register("shout", { request: (body) => new TextDecoder().decode(body).toUpperCase() });
const reply = await conn.request("shout", "hello, package", { timeout: 5000 });
console.log(`reply: ${new TextDecoder().decode(reply)}`);
await conn.close();

// Nothing listens on port 1: connect() says so as soon as the one relay has failed, with its cause.
try {
  await connect({ relays: ["ws://127.0.0.1:1"], keys });
} catch (error) {
  if (!(error instanceof UnreachableError)) throw error;
  console.log(`unreachable: ${error.code} ${error.causes.map((cause) => cause.relay).join(" ")}`);
}

// werift is an optional dependency: asking for direct links without it names the package to install.
try {
  await connect({ relays: [process.env.IRIS_RELAYS], keys, webrtc: true });
  throw new Error("direct links started without werift installed");
} catch (error) {
  console.log(`webrtc without werift: ${error.message}`);
}
