// Shared by the fuzz tests (test/unit/fuzz/*.test.ts) and the long campaign (test/fuzz/campaign.ts).
//
// Each area's test file declares its properties once, as FuzzProperty values, and hands them to
// fuzzTests(). In the normal unit run that registers one node:test test per property, run with a fixed
// seed and the property's `runs`, so the run is deterministic and a failure prints a seed and a path
// that replay it. The campaign imports the same files with IRIS_FUZZ_CAMPAIGN=1 set, which turns the
// registration off, and runs the properties itself with a fresh seed and many more cases.

import { describe, test } from "node:test";

export interface FuzzParams {
  seed: number;
  numRuns: number;
  /** fast-check's replay path, from a failure report; the campaign passes it through. */
  path?: string;
}

export interface FuzzProperty {
  /** Test title and campaign label. */
  name: string;
  /** Generated cases in the normal unit run; the campaign multiplies it. */
  runs: number;
  /** Asserts the property over `params.numRuns` generated cases (fc.assert), throwing on a counterexample. */
  check(params: FuzzParams): void | Promise<void>;
}

/** The normal run's seed. Fixed, so the unit suite sees the same cases every time. */
export const UNIT_SEED = 0x1815_2e57;

/** Set by the campaign before it imports the test files. */
export const CAMPAIGN = process.env.IRIS_FUZZ_CAMPAIGN === "1";

/** Every area registers here, so the campaign can list and run them all. */
export const registry = new Map<string, FuzzProperty[]>();

/** Registers an area's properties: as node:test tests in the unit run, for the campaign otherwise. */
export function fuzzTests(area: string, properties: FuzzProperty[], options: { timeout?: number } = {}): void {
  registry.set(area, properties);
  if (CAMPAIGN) return;
  describe(`fuzz: ${area}`, { timeout: options.timeout ?? 120_000 }, () => {
    for (const property of properties) {
      test(`${property.name} (${property.runs} generated cases, seed ${UNIT_SEED})`, () =>
        property.check({ seed: UNIT_SEED, numRuns: property.runs }));
    }
  });
}

/** A plain test that belongs with an area's properties but not to the campaign: registered in the unit run only. */
export function unitTest(name: string, fn: () => void | Promise<void>): void {
  if (!CAMPAIGN) test(name, fn);
}

/** fast-check parameters from ours: fc.assert prints the seed and path of any counterexample. */
export function fcParams(params: FuzzParams): { seed: number; numRuns: number; path?: string; endOnFailure?: boolean } {
  const out: { seed: number; numRuns: number; path?: string; endOnFailure?: boolean } = {
    seed: params.seed,
    numRuns: params.numRuns,
  };
  if (params.path !== undefined) out.path = params.path;
  return out;
}

/** Calls `fn`; returns what it threw (undefined when it returned normally). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A short description of a thrown value for assertion messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return `non-error ${typeof error}: ${String(error)}`;
}

/** Hex of the first bytes of an input, for messages about a failing case. */
export function preview(bytes: Uint8Array, max = 48): string {
  const shown = Buffer.from(bytes.subarray(0, max)).toString("hex");
  return bytes.length > max ? `${shown}… (${bytes.length} bytes)` : shown;
}
