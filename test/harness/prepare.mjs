// Steps the runners share: bundle dist/, compile the tests, write a layer's counts.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tapCounts, writeLayerResults } from '../../scripts/tapCounts.mjs';
import { NODE22, RESULTS_DIR, ROOT } from './paths.mjs';

export { tapCounts };

/** Runs a command in the repository root with inherited output; throws when it fails. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit code ${result.status}`})`);
  }
}

/** Bundles dist/ again every time: esbuild takes a fraction of a second, and a stale bundle would test old code. */
export function buildBundle() {
  run('npm', ['run', '--silent', 'build']);
}

export function compileTests() {
  run(NODE22, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json']);
}

/** test-results/<layer>.json, which scripts/test.sh adds up. */
export function resultsFile(layer) {
  return path.join(RESULTS_DIR, `${layer}.json`);
}

export function writeResults(layer, counts) {
  writeLayerResults(ROOT, layer, counts);
}
