// `npm start` and `npm test`: makes a key, starts the service, runs the caller against it, and checks
// what the caller printed. The relay comes from IRIS_RELAYS (start one with `npx iris-relay`).

import { spawn } from "node:child_process";
import { once } from "node:events";
import { generateKey } from "iris-mesh";

const env = { ...process.env, GREETER_KEY: generateKey() };
const service = spawn(process.execPath, ["service.mjs"], { env, stdio: ["ignore", "pipe", "inherit"] });
const stopService = () => service.kill("SIGTERM");
const deadline = setTimeout(() => {
  console.error("the example did not finish within 60 s");
  stopService();
  process.exit(1);
}, 60_000);

let serviceOutput = "";
service.stdout.setEncoding("utf8");
await new Promise((resolve, reject) => {
  service.stdout.on("data", (chunk) => {
    serviceOutput += chunk;
    if (serviceOutput.includes("ready:")) resolve();
  });
  service.once("exit", (code) => reject(new Error(`the service exited (${code}) before it was ready`)));
});
process.stdout.write(serviceOutput);

const caller = spawn(process.execPath, ["caller.mjs", "Ada", "Grace"], { env, stdio: ["ignore", "pipe", "inherit"] });
let output = "";
caller.stdout.setEncoding("utf8");
caller.stdout.on("data", (chunk) => {
  output += chunk;
});
const [code] = await once(caller, "exit");
process.stdout.write(output);
stopService();
clearTimeout(deadline);

const expected = [
  /^Hello, Ada! \(from \w{8}, request 1\)$/m,
  /^Hello, Grace! /m,
  /^the service said no: a name, please$/m,
];
const missing = expected.filter((pattern) => !pattern.test(output));
if (code !== 0 || missing.length > 0) {
  console.error(`caller exited ${code}; missing from its output: ${missing.join(", ") || "nothing"}`);
  process.exit(1);
}
console.log("node-service example: ok");
