// The integration layer: test/integration/*.test.ts run by mocha inside the extension host of a
// real VS Code (code-server 4.103.2 driven by Chromium), on copies of both Trac fixtures.
// Writes test-results/integration.json and exits with the suite's code.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import { launchChromium } from './chromium.mjs';
import { startCodeServer } from './codeServer.mjs';
import { compileTests, buildBundle, resultsFile, writeResults } from './prepare.mjs';
import { ROOT, codeServerVersion, requireCodeServer } from './paths.mjs';
import { makeWorkspace, removeDir } from './tempDirs.mjs';

const TIMEOUT_MS = Number(process.env.TRAC_BACKUP_INTEGRATION_TIMEOUT_MS ?? 300_000);
const LAYER = 'integration';
// The workbench asks the extension gallery (open-vsx.org) for updates: harmless offline.
const OFFLINE_NOISE = /ENOTFOUND open-vsx\.org/;

async function runSuite() {
  requireCodeServer();
  buildBundle();
  compileTests();
  const testsPath = path.join(ROOT, 'out', 'test', 'integration', 'index.js');
  console.log(codeServerVersion());

  const results = resultsFile(LAYER);
  rmSync(results, { force: true });
  const workspace = await makeWorkspace();
  let server;
  let browser;
  try {
    server = await startCodeServer({
      folder: workspace,
      env: { TRAC_BACKUP_TEST_RESULTS: results },
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
      ['extensionTestsPath', remote(testsPath)],
      ['skipWelcome', 'true'],
    ];
    await page.goto(`${server.folderUrl(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);

    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), TIMEOUT_MS);
    });
    const code = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (code === 'timeout') {
      throw new Error(
        `integration tests did not finish within ${TIMEOUT_MS / 1000} s (no codeAutomationExit from the workbench). ` +
          `The end of code-server's output:\n${server.recentOutput().slice(-4000)}`,
      );
    }
    return code;
  } finally {
    await browser?.close();
    await server?.stop();
    await removeDir(workspace);
  }
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
