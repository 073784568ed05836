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
// Filters are written with '/' on every platform.
const selected = filter.length ? files.filter((file) => filter.some((part) => file.split(path.sep).join('/').includes(part))) : files;

// The folders whose tests exercise the database run a second time on Node's built-in node:sqlite
// (src/core/sqlite/sqlite.ts: the layer used where better-sqlite3's binary cannot load).
const DATABASE_FOLDERS = ['sqlite', 'backup', 'restore', 'verify'].map((folder) => path.join(dir, folder) + path.sep);
const passes = [
  { name: 'better-sqlite3', files: selected, tap: TAP, env: {} },
  {
    name: 'node:sqlite',
    // oldLinux runs the CLI in a Debian 11 root, where the layer is chosen by the platform: once is enough.
    files: process.env.TRAC_BACKUP_SQLITE
      ? []
      : selected.filter((file) => DATABASE_FOLDERS.some((folder) => file.startsWith(folder)) && !file.includes('oldLinux')),
    tap: TAP.replace(/\.tap$/, '-node-sqlite.tap'),
    env: { TRAC_BACKUP_SQLITE: 'node' },
  },
].filter((pass) => pass.files.length > 0);

let status = 0;
const counts = { passed: 0, failed: 0, skipped: 0 };
for (const pass of passes) {
  rmSync(pass.tap, { force: true });
  if (passes.length > 1) {
    console.log(
      `\n# SQLite layer: ${process.env.TRAC_BACKUP_SQLITE && pass.name === 'better-sqlite3' ? process.env.TRAC_BACKUP_SQLITE : pass.name} (${pass.files.length} files)\n`,
    );
  }
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
      `--test-reporter-destination=${pass.tap}`,
      ...pass.files,
    ],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...pass.env, TRAC_BACKUP_STATE_DIR: stateDir } },
  );
  rmSync(stateDir, { recursive: true, force: true });
  const passCounts = tapCounts(pass.tap);
  for (const key of ['passed', 'failed', 'skipped']) {
    counts[key] += passCounts[key];
  }
  if (passCounts.error) {
    counts.error = passCounts.error;
  }
  if (passes.length > 1) {
    console.log(`${pass.name}: ${passCounts.passed} passed, ${passCounts.failed} failed, ${passCounts.skipped} skipped`);
  }
  status ||= result.status ?? 1;
}
writeLayerResults(ROOT, 'unit', counts);
console.log(`unit: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(status === 0 && counts.failed === 0 ? 0 : 1);
