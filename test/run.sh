#!/usr/bin/env bash
# The whole test suite, or one part of it: typecheck | lint | unit | integration | e2e | pack | all (default).
# Node 20's test runner does not find .ts files by itself, so the files are listed here.
set -euo pipefail
cd "$(dirname "$0")/.."

part="${1:-all}"

node_tests() {
  local dir="$1"
  shift
  mapfile -t files < <(find "test/$dir" -name '*.test.ts' | sort)
  if [ "${#files[@]}" -eq 0 ]; then
    echo "no tests in test/$dir" >&2
    return 1
  fi
  node --import tsx --test --test-reporter=spec "$@" "${files[@]}"
}

run_part() {
  case "$1" in
    typecheck)
      # Everything with Node's types, then the browser-reachable core against the DOM's types only.
      echo "== typecheck" && npx tsc --noEmit -p . && npx tsc --noEmit -p tsconfig.core.json
      ;;
    lint)
      echo "== lint and format (Biome)" && npx biome check --error-on-warnings .
      # The API reference's check: every exported symbol documented, every link resolved (typedoc's
      # validation warnings are errors, see docs/typedoc.json); nothing is written.
      echo "== API docs (typedoc, validation only)" && npm run --silent docs -- --emit none
      ;;
    unit) echo "== unit tests" && node_tests unit --test-concurrency=2 ;;
    integration) echo "== integration tests (real relay and peer processes)" && node_tests integration --test-concurrency=1 ;;
    e2e)
      if [ -d test/e2e ] && [ -n "$(find test/e2e -name '*.spec.ts' -print -quit)" ]; then
        echo "== end-to-end tests (Playwright, Chromium)" && npx playwright test
      fi
      ;;
    pack)
      # The package as users install it: npm pack, installed into fresh folders, every example run.
      echo "== pack test (the tarball, installed into fresh apps)" && node_tests pack --test-concurrency=1
      ;;
    *) echo "unknown part: $1 (typecheck, lint, unit, integration, e2e, pack, all)" >&2 && return 2 ;;
  esac
}

if [ "$part" = "all" ]; then
  for p in typecheck lint unit integration e2e pack; do run_part "$p"; done
else
  run_part "$part"
fi
