// The end-to-end layer: packages the extension for this platform (npm run package), installs that .vsix into a
// fresh extensions folder with code-server's --install-extension, then runs test/e2e/*.test.mjs
// (node:test + playwright-core), which drive the workbench in Chromium like a user.
// Writes test-results/e2e.json; screenshots go to test-results/screenshots/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { installExtension } from './codeServer.mjs';
import { HOST_VSIX, NODE22, RESULTS_DIR, ROOT, codeServerVersion, hostTarget, requireCodeServer } from './paths.mjs';
import { compileTests, run, tapCounts, writeResults } from './prepare.mjs';
import { makeTempDir, removeDir } from './tempDirs.mjs';

const LAYER = 'e2e';
const TIMEOUT_MS = Number(process.env.TRAC_BACKUP_E2E_TIMEOUT_MS ?? 900_000);
const TAP = path.join(RESULTS_DIR, 'e2e.tap');

async function runLayer() {
  requireCodeServer();
  console.log(codeServerVersion());
  // The package a user of this platform installs: only its own SQLite binary (scripts/package.mjs).
  run('npm', ['run', 'package', '--', `--targets=${hostTarget()}`]);
  // Tests that start database servers use test/support (compiled into out/).
  compileTests();

  const extensionsDir = await makeTempDir('trac-backup-extensions-');
  try {
    console.log((await installExtension(HOST_VSIX, extensionsDir)).trim());
    if (!readdirSync(extensionsDir).some((name) => name.startsWith('trac-backup.trac-backup-'))) {
      throw new Error(`the .vsix did not install into ${extensionsDir}`);
    }

    const dir = path.join(ROOT, 'test', 'e2e');
    const files = readdirSync(dir)
      .filter((name) => name.endsWith('.test.mjs'))
      .sort()
      .map((name) => path.join(dir, name));
    const filter = process.argv.slice(2);
    const selected = filter.length ? files.filter((file) => filter.some((part) => file.includes(part))) : files;
    mkdirSync(RESULTS_DIR, { recursive: true }); // a fresh clone has none: the tap reporter does not make it
    rmSync(TAP, { force: true });
    const result = spawnSync(
      NODE22,
      [
        '--test',
        '--test-concurrency=1', // each file starts its own code-server and Chromium: one at a time on 2 cores
        '--test-timeout=180000',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        '--test-reporter=tap',
        `--test-reporter-destination=${TAP}`,
        ...selected,
      ],
      { cwd: ROOT, stdio: 'inherit', timeout: TIMEOUT_MS, env: { ...process.env, TRAC_BACKUP_E2E_EXTENSIONS_DIR: extensionsDir } },
    );
    if (result.error?.code === 'ETIMEDOUT') {
      throw new Error(`the e2e tests did not finish within ${TIMEOUT_MS / 1000} s`);
    }
    return result.status;
  } finally {
    await removeDir(extensionsDir);
  }
}

let code;
try {
  code = await runLayer();
} catch (error) {
  console.error(`e2e: ${error.message}`);
  code = 1;
}
const counts = existsSync(TAP) ? tapCounts(TAP) : { passed: 0, failed: 1, skipped: 0, error: 'the e2e tests did not run' };
writeResults(LAYER, counts);
console.log(`e2e: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(code === 0 && counts.failed === 0 ? 0 : 1);
