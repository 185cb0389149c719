// A production Vite build of the browser test page (test/fixtures/browser-page), which imports
// "iris-mesh" by name and reaches connect(), the patterns, sealing and the WebRTC connector. The build
// must succeed and the bundle must hold nothing that needs Node: no `ws`, no werift, no node:* or other
// built-in modules, no *.node.ts file, no external imports left for the browser to resolve.

import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import path from "node:path";
import { build } from "vite";
import type { Plugin, Rolldown } from "vite";

const root = path.resolve(import.meta.dirname, "../..");
const configFile = path.join(root, "test/fixtures/browser-page/vite.config.ts");
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

interface BuiltinRequest {
  source: string;
  importer: string;
}

/** Records every request for a Node built-in module, whoever makes it, before Vite stubs it out. */
function builtinRecorder(requests: BuiltinRequest[]): Plugin {
  return {
    name: "record-node-builtins",
    enforce: "pre",
    resolveId(source, importer) {
      if (builtins.has(source) || source.startsWith("node:")) {
        requests.push({ source, importer: path.relative(root, importer ?? "?") });
      }
      return null;
    },
  };
}

/** Fails with the text around the first match, not the whole bundle. */
function absent(code: string, pattern: RegExp, what: string): void {
  const match = pattern.exec(code);
  if (match)
    assert.fail(`the bundle contains ${what}: ...${code.slice(Math.max(0, match.index - 80), match.index + 80)}...`);
}

test("the browser page builds for production with no Node-only module in the bundle", async () => {
  const requests: BuiltinRequest[] = [];
  const started = performance.now();
  const result = await build({
    configFile,
    logLevel: "error",
    build: { write: false },
    plugins: [builtinRecorder(requests)],
  });
  const elapsed = performance.now() - started;
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunks = outputs.flatMap((output) =>
    output.output.filter((item): item is Rolldown.OutputChunk => item.type === "chunk"),
  );
  assert.equal(chunks.length, 1, `chunks: ${chunks.map((chunk) => chunk.fileName).join(", ")}`);
  const chunk = chunks[0]!;

  assert.deepEqual(chunk.imports, [], "no imports left for the browser to resolve");
  assert.deepEqual(chunk.dynamicImports, []);

  const modules = chunk.moduleIds.map((id) => (path.isAbsolute(id) ? path.relative(root, id) : id));
  for (const needed of [
    "core/browser.ts",
    "core/peer/connection.ts",
    "core/transports/webrtc.ts",
    "core/transports/websocket.ts",
  ]) {
    assert.ok(modules.includes(needed), `${needed} is in the bundle ("iris-mesh" resolved to the browser entry)`);
  }
  const nodeOnly = modules.filter(
    (id) =>
      /\.node\.ts$/.test(id) ||
      /node_modules\/(ws|werift|@shinyoshiaki)\//.test(id) ||
      id.startsWith("node:") ||
      builtins.has(id),
  );
  assert.deepEqual(nodeOnly, [], "modules that need Node");
  const packages = new Set(modules.filter((id) => id.startsWith("node_modules/")).map((id) => id.split("/")[1]));
  assert.deepEqual([...packages].sort(), ["fflate", "tweetnacl"], "third-party packages in the bundle");

  // tweetnacl falls back to require("crypto") only where self.crypto is missing, which no browser
  // lacks; its package.json maps that module to nothing for browsers. Nothing else may ask for one.
  assert.deepEqual(requests, [{ source: "crypto", importer: "node_modules/tweetnacl/nacl-fast.js" }]);

  const code = chunk.code;
  absent(code, /\brequire\(\s*["'`]/, "a require() of a named module");
  absent(code, /["'`]node:/, "a node: specifier");
  absent(code, /["'`](werift|ws)(\/[^"'`]*)?["'`]/, "a werift or ws specifier");
  assert.match(code, /RTCPeerConnection/, "the page's RTCPeerConnection is what gets injected");
  assert.ok(elapsed < 30_000, `build took ${Math.round(elapsed)} ms`);
});
