// A member of cluster "greeter": it answers requests, and says so on the topic "greeter-log".
// Run it as many times as you like: callers' requests are balanced over every running copy.
//
//   IRIS_RELAYS=ws://127.0.0.1:7600 GREETER_KEY=<a key from generateKey()> node service.mjs

import { connect } from "iris-mesh";

const relays = (process.env.IRIS_RELAYS ?? "ws://127.0.0.1:7600").split(",");
const key = process.env.GREETER_KEY;
if (!key) throw new Error("set GREETER_KEY to a key made by generateKey(), the same for service and callers");

const conn = await connect({ relays, keys: { greeter: key, "greeter-log": key } });
conn.on("drop", ({ reason }) => console.error(`relay lost (${reason}); reconnecting`));

let served = 0;
await conn.register("greeter", {
  request: async (body, { origin }) => {
    const name = new TextDecoder().decode(body);
    if (name.length === 0) throw new Error("a name, please"); // the caller gets RemoteError
    served++;
    await conn.publish("greeter-log", `greeted ${name} for ${origin.slice(0, 8)}`);
    return `Hello, ${name}! (from ${conn.peerId.slice(0, 8)}, request ${served})`;
  },
});
console.log(`ready: member ${conn.peerId} of "greeter" on ${conn.relay}`);

// Leave cleanly: work in progress completes, new work goes to other members.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await conn.close();
    process.exit(0);
  });
}
