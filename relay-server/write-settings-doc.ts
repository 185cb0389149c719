// `npm run docs:relay-options`: rewrites the README's relay options table from relay-server/settings.ts.
// `--check` only says whether the README is up to date (exit 1 if not), for scripts and CI.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withOptionsTable } from "./settings-doc.ts";

const README = fileURLToPath(new URL("../README.md", import.meta.url));

const current = readFileSync(README, "utf8");
const wanted = withOptionsTable(current);
if (process.argv.includes("--check")) {
  if (current !== wanted) {
    process.stderr.write("README.md: the relay options table is out of date; run npm run docs:relay-options\n");
    process.exit(1);
  }
} else if (current !== wanted) {
  writeFileSync(README, wanted);
  process.stdout.write("README.md: relay options table rewritten\n");
}
