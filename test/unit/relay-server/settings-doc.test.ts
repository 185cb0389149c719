// --help and the README's options table are made from the settings table, so a setting cannot be
// added, renamed or re-defaulted without both following.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { allSettings } from "../../../relay-server/settings.ts";
import { defaultOf, helpText, optionsTable, withOptionsTable } from "../../../relay-server/settings-doc.ts";

const README = fileURLToPath(new URL("../../../README.md", import.meta.url));
const CLI = fileURLToPath(new URL("../../../relay-server/cli.ts", import.meta.url));

test("the README's relay options table is the one the settings make (npm run docs:relay-options)", () => {
  const readme = readFileSync(README, "utf8");
  assert.ok(readme.includes(optionsTable()), "README.md is out of date: run npm run docs:relay-options");
  assert.equal(withOptionsTable(readme), readme);
});

test("the options table has a row for every setting, with its flag, variable, key and default", () => {
  const rows = optionsTable().split("\n");
  for (const [key, setting] of allSettings()) {
    const row = rows.find((line) => line.startsWith(`| \`${key}\` `));
    assert.ok(row, `no row for ${key}`);
    for (const part of [setting.flag, setting.env, defaultOf(setting).replaceAll("|", "\\|")]) {
      assert.ok(row.includes(part), `the row of ${key} lacks ${part}: ${row}`);
    }
  }
});

test("--help lists every flag with its variable, key and default, and exits 0", () => {
  const result = spawnSync(process.execPath, ["--import", "tsx", CLI, "--help"], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, helpText());
  const help = result.stdout.replace(/\n\s+/g, " ");
  for (const [key, setting] of allSettings()) {
    assert.ok(help.includes(`${setting.flag} ${setting.kind.placeholder}`), `--help lacks ${setting.flag}`);
    assert.ok(help.includes(`${setting.env}, "${key}"; default ${defaultOf(setting)}`), `--help lacks ${key}'s line`);
  }
  for (const line of result.stdout.split("\n")) assert.ok(line.length <= 100, `a line over 100 columns: ${line}`);
});
