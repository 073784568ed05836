#!/usr/bin/env bash
# Runs every test on a fresh clone: system packages, npm ci, lint (ESLint and Prettier), build, then the unit layer,
# code-server setup, the integration layer (extension host in code-server) and the e2e layer
# (packaged .vsix driven in Chromium). Each layer writes test-results/<layer>.json; the last
# line is "total: N passed, M failed". Exits non-zero if anything failed or a layer ran nothing.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH" # Node 22 from the node@22 devDependency first

LAYERS=(unit integration e2e)
timings=()
failed_steps=()

# step NAME COMMAND...: prints a header, runs, records the time and any failure.
step() {
  local name="$1" start=$SECONDS status
  shift
  printf '\n==================== %s ====================\n' "$name"
  "$@"
  status=$?
  timings+=("$(printf '%-22s %5ss%s' "$name" $((SECONDS - start)) "$([[ $status -eq 0 ]] || echo "  (exit code $status)")")")
  [[ $status -eq 0 ]] || failed_steps+=("$name")
  return $status
}

finish() {
  printf '\n==================== summary ====================\n'
  printf '%s\n' "${timings[@]}"
  [[ ${#failed_steps[@]} -eq 0 ]] || echo "failed steps: ${failed_steps[*]}"
  node -e '
    const fs = require("fs");
    let passed = 0, failed = 0, empty = 0;
    for (const layer of process.argv.slice(1)) {
      const file = `test-results/${layer}.json`;
      const counts = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { passed: 0, failed: 1, error: "no results" };
      passed += counts.passed; failed += counts.failed;
      if (counts.passed + counts.failed === 0) empty++;
      console.log(`${layer}: ${counts.passed} passed, ${counts.failed} failed${counts.passed + counts.failed === 0 ? " (ran zero tests)" : ""}${counts.error ? ` (${counts.error})` : ""}`);
    }
    console.log(`total: ${passed} passed, ${failed} failed`);
    process.exit(failed > 0 || empty > 0 ? 1 : 0);
  ' "${LAYERS[@]}"
  local counted=$?
  [[ $counted -eq 0 && ${#failed_steps[@]} -eq 0 ]] && exit 0 || exit 1
}

rm -rf test-results
mkdir -p test-results

step "system packages" bash scripts/ensure-system-deps.sh || finish
step "node modules" bash scripts/ensure-node-modules.sh || finish
hash -r
step "lint" npm run lint || finish
step "build" npm run build || finish
step "unit" node scripts/run-unit-tests.mjs
if step "code-server setup" bash scripts/setup-code-server.sh; then
  step "integration" node test/harness/run-integration.mjs
  step "e2e" node test/harness/run-e2e.mjs
fi
finish
