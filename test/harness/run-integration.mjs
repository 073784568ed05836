// The integration layer: test/integration/*.test.ts run by mocha inside the extension host of a
// real VS Code (code-server 4.103.2 driven by Chromium), on copies of both Trac fixtures, then
// test/integration/multiRoot.test.ts in a multi-root workspace (see makeMultiRootWorkspace).
// Writes test-results/integration.json and exits with the suite's code.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import { launchChromium } from './chromium.mjs';
import { startCodeServer } from './codeServer.mjs';
import { compileTests, buildBundle, resultsFile, writeResults } from './prepare.mjs';
import { ROOT, codeServerVersion, requireCodeServer } from './paths.mjs';
import { makeMultiRootWorkspace, makeWorkspace, removeDir } from './tempDirs.mjs';

const TIMEOUT_MS = Number(process.env.TRAC_BACKUP_INTEGRATION_TIMEOUT_MS ?? 300_000);
const LAYER = 'integration';
// The multi-root session's schedules run every few seconds instead of every hour or day.
const SCHEDULE_INTERVAL_MS = 3000;
// The workbench asks the extension gallery (open-vsx.org) for updates: harmless offline.
const OFFLINE_NOISE = /ENOTFOUND open-vsx\.org/;

/**
 * One session: code-server opened on `open` (a folder, or a .code-workspace file), mocha run in
 * its extension host on the test files TRAC_BACKUP_INTEGRATION_SUITE selects, counts in `results`.
 */
async function runSession({ name, open, workspaceFile, env = {}, results }) {
  let server;
  let browser;
  try {
    server = await startCodeServer({
      folder: open,
      env: { ...env, TRAC_BACKUP_TEST_RESULTS: results, TRAC_BACKUP_INTEGRATION_SUITE: name },
      // VS Code's file watcher reports nothing here, so the list must follow the disk through the
      // extension's own watches alone (VS Code's dropped events on some machines: they are a bonus).
      settings: { 'files.watcherExclude': { '**': true } },
      log: process.env.TRAC_BACKUP_VERBOSE ? (text) => process.stdout.write(`[code-server] ${text}`) : undefined,
    });
    browser = await launchChromium();
    const { page } = browser;

    let settle;
    const exited = new Promise((resolve) => (settle = resolve));
    await page.exposeFunction('codeAutomationLog', (level, message) => {
      const text = Array.isArray(message) ? format(...message) : String(message);
      if (!OFFLINE_NOISE.test(text)) process.stdout.write(`${level === 'info' ? '' : `[${level}] `}${text}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code) => settle(Number(code)));
    page.on('pageerror', (error) => console.log(`[page error] ${error.message}`));

    const remote = (file) => `vscode-remote://127.0.0.1:${server.port}${file}`;
    const payload = [
      ['extensionDevelopmentPath', remote(ROOT)],
      ['extensionTestsPath', remote(testsPath())],
      ['skipWelcome', 'true'],
    ];
    const url = workspaceFile ? server.workspaceUrl(workspaceFile) : server.folderUrl(open);
    await page.goto(`${url}&payload=${encodeURIComponent(JSON.stringify(payload))}`);

    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), TIMEOUT_MS);
    });
    const code = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (code === 'timeout') {
      throw new Error(
        `integration tests (${name}) did not finish within ${TIMEOUT_MS / 1000} s (no codeAutomationExit from the workbench). ` +
          `The end of code-server's output:\n${server.recentOutput().slice(-4000)}`,
      );
    }
    return code;
  } finally {
    await browser?.close();
    await server?.stop();
  }
}

function testsPath() {
  return path.join(ROOT, 'out', 'test', 'integration', 'index.js');
}

/** The counts a session wrote, or one failure when it wrote none. */
function sessionCounts(file, name) {
  return existsSync(file)
    ? JSON.parse(readFileSync(file, 'utf8'))
    : { passed: 0, failed: 1, pending: 0, error: `the ${name} session did not report its results` };
}

/**
 * Two sessions: the workspace folder holding both fixtures (most of the suite), then a
 * multi-root workspace whose folders have settings of their own (multiRoot.test.ts), with the
 * schedule's interval shortened to seconds. Their counts add up in test-results/integration.json.
 */
async function runSuite() {
  requireCodeServer();
  buildBundle();
  compileTests();
  console.log(codeServerVersion());

  const results = resultsFile(LAYER);
  rmSync(results, { force: true });
  const sessions = [];
  const workspace = await makeWorkspace();
  let code;
  const folderResults = `${results}.folder`;
  rmSync(folderResults, { force: true });
  try {
    code = await runSession({ name: 'folder', open: workspace, results: folderResults });
  } catch (error) {
    console.error(`integration: ${error.message}`);
    code = 1;
  } finally {
    sessions.push(sessionCounts(folderResults, 'folder'));
    await removeDir(workspace);
  }
  const multiRoot = await makeMultiRootWorkspace();
  const multiResults = `${results}.multi-root`;
  rmSync(multiResults, { force: true });
  try {
    const multiCode = await runSession({
      name: 'multi-root',
      open: multiRoot.file,
      workspaceFile: multiRoot.file,
      env: { TRAC_BACKUP_SCHEDULE_INTERVAL_MS: String(SCHEDULE_INTERVAL_MS) },
      results: multiResults,
    });
    code ||= multiCode;
  } catch (error) {
    console.error(`integration (multi-root): ${error.message}`);
    code = 1;
  } finally {
    sessions.push(sessionCounts(multiResults, 'multi-root'));
    await removeDir(multiRoot.dir);
  }
  const total = { passed: 0, failed: 0, pending: 0 };
  for (const counts of sessions) {
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.pending += counts.pending ?? 0;
  }
  writeResults(LAYER, total);
  for (const file of [folderResults, multiResults]) {
    rmSync(file, { force: true });
  }
  return code;
}

let code;
try {
  code = await runSuite();
} catch (error) {
  console.error(`integration: ${error.message}`);
  code = 1;
}
const file = resultsFile(LAYER);
if (!existsSync(file)) {
  writeResults(LAYER, { passed: 0, failed: 1, pending: 0, error: 'the suite did not report its results' });
}
const counts = JSON.parse(readFileSync(file, 'utf8'));
console.log(`integration: ${counts.passed} passed, ${counts.failed} failed, ${counts.pending ?? 0} pending (exit code ${code})`);
process.exit(code === 0 && counts.failed === 0 ? 0 : 1);
