// `npm test`: this folder's deployment, run the way its README says, on free ports. It makes the
// certificate, starts the three relays with `npx iris-relay --config relay-X.json` (the fixed ports
// 7610-7612 and 7690-7692 replaced by free ones, so each relay is seeded by flag with the ones already
// up; everything else comes from the files), waits until each is ready and linked to both others,
// reads their metrics, then has a member on the last relay serve a caller on the first, both trusting
// the certificate through NODE_EXTRA_CA_CERTS.

import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { generateKey } from "iris-mesh";

const relays = [];
const deadline = setTimeout(() => fail("the example did not finish within 90 s"), 90_000);

function fail(message) {
  console.error(`relay-deployment example: ${message}`);
  for (const relay of relays) relay.process.kill("SIGKILL");
  process.exit(1);
}

/** Starts one relay from its config file and resolves with the addresses it logs (JSON lines). */
function startRelay(name, seeds) {
  const args = ["--config", `relay-${name}.json`, "--port", "0", "--admin-port", "0"];
  // No seeds for the first (an empty value means none), the running ones for the others.
  const seedArgs = seeds.length > 0 ? seeds.flatMap((seed) => ["--seed", seed]) : ["--seed="];
  // The command `npx iris-relay` runs, started directly so that stopping it stops the relay itself.
  const child = spawn("node_modules/.bin/iris-relay", [...args, ...seedArgs], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const found = {};
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
        const entry = JSON.parse(line);
        if (entry.event === "admin-listening") found.admin = entry.url;
        if (entry.event === "relay-listening") found.url = entry.url;
        if (found.admin && found.url) resolve({ name, process: child, ...found });
      }
    });
    child.once("exit", (code) => reject(new Error(`relay ${name} exited (${code}) before it listened`)));
  });
}

function get(url, options = {}) {
  const getter = url.startsWith("https:") ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    getter(url, options, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body }));
    }).once("error", reject);
  });
}

/** Asks again every 100 ms until `ready` holds; the deadline above bounds it. */
async function until(read, ready) {
  for (;;) {
    const value = await read();
    if (ready(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

execFileSync("./make-certificate.sh", { stdio: "ignore" });
const ca = readFileSync("tls/relay.crt", "utf8");
for (const name of ["a", "b", "c"])
  relays.push(
    await startRelay(
      name,
      relays.map((relay) => relay.url),
    ),
  );

for (const relay of relays) {
  if (!relay.url.startsWith("wss://127.0.0.1:")) fail(`relay ${relay.name} serves ${relay.url}, not wss://`);
  const health = await get(`${relay.url.replace("wss:", "https:")}/healthz`, { ca });
  if (health.status !== 200) fail(`relay ${relay.name}: /healthz answered ${health.status}`);
  await until(
    () => get(`${relay.url.replace("wss:", "https:")}/readyz`, { ca }),
    (answer) => answer.body === "ready\n",
  );
  await until(
    async () => JSON.parse((await get(`${relay.admin}/status`)).body),
    (status) => status.links.length === 2,
  );
  console.log(`relay ${relay.name}: ${relay.url} ready, linked to both others`);
}
const metrics = (await get(`${relays[0].admin}/metrics`)).body;
if (!/^iris_relay_relay_links 2$/m.test(metrics)) fail("relay a's /metrics does not count 2 relay links");

// A member on relay c, a caller on relay a: the request crosses the backbone, over TLS all the way.
const env = { ...process.env, NODE_EXTRA_CA_CERTS: "tls/relay.crt", DB_KEY: generateKey() };
const peers = spawn(process.execPath, ["member-and-caller.mjs", relays[2].url, relays[0].url], {
  env,
  stdio: ["ignore", "pipe", "inherit"],
});
let output = "";
peers.stdout.setEncoding("utf8");
peers.stdout.on("data", (chunk) => (output += chunk));
const code = await new Promise((resolve) => peers.once("exit", resolve));
process.stdout.write(output);
for (const relay of relays) relay.process.kill("SIGTERM");
clearTimeout(deadline);
if (code !== 0 || !/^reply: pong from the member on relay c$/m.test(output)) fail(`the caller exited ${code}`);
console.log("relay-deployment example: ok");
