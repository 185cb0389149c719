// The house rules of core/, checked on every run: layers import only downward, nothing imports in a
// cycle (type-only imports included), Node-only modules stay in *.node.ts files, the peer side and the
// relay side share no file name, and the README's layout names every folder.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = path.resolve(import.meta.dirname, "../..");
const core = path.join(root, "core");

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : full.endsWith(".ts") ? [full] : [];
  });
}

const files = filesUnder(core).map((file) => path.relative(root, file).split(path.sep).join("/"));

/** Every import specifier of a file: static imports, re-exports and dynamic imports. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/g)) found.push(match[1]!);
  for (const match of text.matchAll(/(?:^|\n)\s*import\s+"([^"]+)"/g)) found.push(match[1]!);
  for (const match of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) found.push(match[1]!);
  return found;
}

function resolve(from: string, specifier: string): string {
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
}

const graph = new Map<string, string[]>(
  files.map((file) => [
    file,
    importsOf(file)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => resolve(file, spec)),
  ]),
);

/**
 * Layers from the bottom up. A file may import its own layer or a lower one; the peer side and the
 * relay side sit side by side and never import each other.
 */
function layerOf(file: string): { rank: number; side: string } {
  const rel = file.slice("core/".length);
  if (rel.startsWith("util/") || rel === "errors.ts") return { rank: 0, side: "shared" };
  if (rel.startsWith("wire/")) return { rank: 1, side: "shared" };
  if (rel.startsWith("crypto/")) return { rank: 2, side: "shared" };
  if (rel.startsWith("transports/")) return { rank: 3, side: "shared" };
  if (rel.startsWith("peer/patterns/")) return { rank: 4, side: "peer" };
  if (rel.startsWith("peer/")) return { rank: 5, side: "peer" };
  if (rel.startsWith("relay/")) return { rank: 5, side: "relay" };
  return { rank: 6, side: "entry" };
}

test("every import in core/ resolves to a file of core/", () => {
  for (const [file, targets] of graph) {
    for (const target of targets)
      assert.ok(graph.has(target), `${file} imports ${target}, which is not a file of core/`);
  }
});

test("layers import only downward, and the peer and relay sides never import each other", () => {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    for (const target of targets) {
      const to = layerOf(target);
      const sideways = from.rank === to.rank && from.side !== to.side;
      if (to.rank > from.rank || sideways) wrong.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("no import cycles in core/, type-only imports included", () => {
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      cycles.push([...trail.slice(trail.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "visiting");
    for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

test("Node-only modules are imported only by *.node.ts files and the Node entry", () => {
  const nodeOnly = /^(node:|ws$|werift$|sodium-native$|bufferutil$)/;
  const wrong: string[] = [];
  for (const file of files) {
    if (file.endsWith(".node.ts") || file === "core/node.ts") continue;
    for (const spec of importsOf(file)) if (nodeOnly.test(spec)) wrong.push(`${file} imports ${spec}`);
  }
  assert.deepEqual(wrong, []);
});

test("no file name appears on both the peer side and the relay side", () => {
  const names = (side: string) =>
    new Set(files.filter((file) => layerOf(file).side === side).map((file) => path.basename(file)));
  const peer = names("peer");
  const shared = [...names("relay")].filter((name) => peer.has(name));
  assert.deepEqual(shared, []);
});

test("the README's layout section names every folder of core/", () => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const layout = readme.slice(readme.indexOf("## Layout"));
  const folders = new Set(files.map((file) => path.posix.dirname(file)).filter((dir) => dir !== "core"));
  for (const folder of folders) {
    const last = `${path.posix.basename(folder)}/`;
    assert.ok(layout.includes(last), `README "Layout" does not mention ${folder}`);
  }
});
