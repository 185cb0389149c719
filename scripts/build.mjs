// `npm run build` (and `prepack`): compiles core/ and relay-server/ into dist/ with tsc, then gives the
// declarations the same `.js` import specifiers as the modules beside them. tsc rewrites `.ts` to `.js`
// in the JavaScript it emits but leaves declarations alone (TypeScript issue 61037); TypeScript reads
// either, but editors and other tools resolve a `.d.ts` import of `./x.ts` to nothing.
//
// Plain tsc rather than a bundler: tsdown 0.21 (the last for Node 20) and tsup declare TypeScript 5 or 6
// as a peer for their declaration step, which the project's TypeScript 7 does not satisfy; tsc needs no
// new dependency, emits one module per source file (so the lazily loaded parts, werift, stay lazy with no
// configuration, and bundlers tree-shake per module), and the whole build takes about 2 s.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const outputs = ["dist/core", "dist/relay-server"].map((dir) => path.join(root, dir));

for (const dir of outputs) rmSync(dir, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});

/** `from "./x.ts"`, `import("./x.ts")` and `import "./x.ts"` with a relative specifier. */
const relativeTs = /((?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g;

function declarations(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return declarations(full);
    return name.endsWith(".d.ts") ? [full] : [];
  });
}

let rewritten = 0;
for (const file of outputs.flatMap(declarations)) {
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(relativeTs, (_match, head, specifier, quote) => `${head}${specifier}.js${quote}`);
  if (fixed !== text) {
    writeFileSync(file, fixed);
    rewritten++;
  }
}
console.log(
  `build: dist/core and dist/relay-server written (${rewritten} declaration files had their imports rewritten)`,
);
