// Compiles the TypeScript tests and runs the unit layer with Node's own test runner
// (Node 22 from the node@22 devDependency, so better-sqlite3 13 loads).
// Records the counts in test-results/unit.json (from a TAP copy of the report).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tapCounts, writeLayerResults } from './tapCounts.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const TAP = path.join(ROOT, 'test-results', 'unit.tap');
mkdirSync(path.dirname(TAP), { recursive: true });
rmSync(TAP, { force: true });

const compiled = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.test.json'], {
  cwd: ROOT,
  stdio: 'inherit',
});
if (compiled.status !== 0) {
  writeLayerResults(ROOT, 'unit', { passed: 0, failed: 1, skipped: 0, error: 'the tests did not compile (tsc)' });
  process.exit(1);
}

const dir = path.join('out', 'test', 'unit');
const files = readdirSync(path.join(ROOT, dir), { recursive: true })
  .map(String)
  .filter((name) => name.endsWith('.test.js'))
  .map((name) => path.join(dir, name))
  .sort();
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((file) => filter.some((part) => file.includes(part))) : files;

// Verifications are recorded per user (src/core/catalog/verificationStore.ts): here, in a folder of this run.
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'trac-backup-test-state-'));
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${TAP}`,
    ...selected,
  ],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, TRAC_BACKUP_STATE_DIR: stateDir } },
);
rmSync(stateDir, { recursive: true, force: true });
const counts = tapCounts(TAP);
writeLayerResults(ROOT, 'unit', counts);
console.log(`unit: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(result.status === 0 && counts.failed === 0 ? 0 : 1);
