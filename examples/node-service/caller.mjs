// A caller of cluster "greeter": sends a few requests and prints the replies, then one that the
// service refuses, to show how a handler's error arrives.
//
//   IRIS_RELAYS=ws://127.0.0.1:7600 GREETER_KEY=<the service's key> node caller.mjs Ada Grace

import { connect, NoMembersError, RemoteError } from "iris-mesh";

const relays = (process.env.IRIS_RELAYS ?? "ws://127.0.0.1:7600").split(",");
const conn = await connect({ relays, keys: { greeter: process.env.GREETER_KEY } });

try {
  for (const name of process.argv.slice(2)) {
    const reply = await conn.request("greeter", name, { timeout: 5000 });
    console.log(new TextDecoder().decode(reply));
  }
  await conn.request("greeter", "", { timeout: 5000 });
} catch (error) {
  if (error instanceof RemoteError) console.log(`the service said no: ${error.message}`);
  else if (error instanceof NoMembersError) console.log("no greeter is running: start service.mjs first");
  else throw error;
} finally {
  await conn.close();
}
