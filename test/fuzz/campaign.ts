// The long fuzz campaign: `npm run fuzz`. Not part of `npm test`.
//
// Runs every property of test/unit/fuzz/*.test.ts (the same code as the unit run) with a fresh seed and
// many more cases, prints the seed first, and on a counterexample prints the command that replays it.
//
//   npm run fuzz                                  every property, 10 times the unit run's cases
//   npm run fuzz -- --multiplier 50 --rounds 3    more cases, three rounds with three seeds
//   npm run fuzz -- --only "relay handshake"      properties whose area or name contains the text
//   npm run fuzz -- --seed 123 --only "…" --path "4:1:0"   replay one counterexample
//
// The test files are imported with IRIS_FUZZ_CAMPAIGN=1, which keeps them from registering node:test
// tests; each then only hands its properties to the registry in test/fuzz/harness.ts.

import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    multiplier: { type: "string", default: "10" },
    rounds: { type: "string", default: "1" },
    only: { type: "string" },
    path: { type: "string" },
  },
});
const multiplier = Number(values.multiplier);
const rounds = Number(values.rounds);
if (!(multiplier > 0) || !Number.isInteger(rounds) || rounds < 1) {
  console.error("--multiplier must be a positive number and --rounds a positive integer");
  process.exit(2);
}

// Before any test file (or the harness) is loaded: they read it at import time.
process.env.IRIS_FUZZ_CAMPAIGN = "1";
const { registry } = await import("./harness.ts");
const dir = fileURLToPath(new URL("../unit/fuzz/", import.meta.url));
for (const file of readdirSync(dir)
  .filter((name) => name.endsWith(".test.ts"))
  .sort()) {
  await import(pathToFileURL(join(dir, file)).href);
}

const selected = [...registry].flatMap(([area, properties]) =>
  properties
    .filter((p) => !values.only || `${area}: ${p.name}`.includes(values.only))
    .map((property) => ({ area, property })),
);
if (selected.length === 0) {
  console.error(`no property matches ${JSON.stringify(values.only)}`);
  process.exit(2);
}

const started = performance.now();
let cases = 0;
for (let round = 0; round < rounds; round++) {
  // A fixed seed replays; otherwise a fresh one per round, printed before anything runs.
  const seed = values.seed !== undefined ? Number(values.seed) + round : (Math.random() * 2 ** 31) | 0;
  console.log(
    `fuzz campaign round ${round + 1}/${rounds}: seed ${seed}, ${selected.length} properties, ${multiplier}x the unit run's cases`,
  );
  for (const { area, property } of selected) {
    const numRuns = Math.max(1, Math.round(property.runs * multiplier));
    const t0 = performance.now();
    try {
      await property.check({ seed, numRuns, ...(values.path ? { path: values.path } : {}) });
    } catch (error) {
      console.error(`\nFAILED  ${area}: ${property.name}\n${error instanceof Error ? error.message : String(error)}`);
      const path = /path: "([^"]*)"/.exec(String(error instanceof Error ? error.message : error))?.[1];
      const only = JSON.stringify(`${area}: ${property.name}`);
      console.error(
        `\nreplay: npm run fuzz -- --seed ${seed} --only ${only}${path ? ` --path "${path}"` : ""} --multiplier ${multiplier}`,
      );
      process.exit(1);
    }
    cases += numRuns;
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`  ok  ${String(numRuns).padStart(8)} cases  ${seconds.padStart(6)} s  ${area}: ${property.name}`);
  }
}
console.log(`fuzz campaign: ${cases} cases passed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
// Relays and timers from the properties are closed, but a stray handle must not keep the campaign up.
process.exit(0);
