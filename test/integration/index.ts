// The extension-tests entry point (extensionTestsPath): VS Code loads it in the extension host
// and calls run(). Used by the code-server runner here and by @vscode/test-electron on desktops.
import { promises as fs, readdirSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';

interface Counts {
  passed: number;
  failed: number;
  pending: number;
}

/** Writes the counts where TRAC_BACKUP_TEST_RESULTS says, for the runner outside. */
async function writeCounts(counts: Counts): Promise<void> {
  const file = process.env.TRAC_BACKUP_TEST_RESULTS;
  if (file) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify(counts) + '\n');
  }
}

export async function run(): Promise<void> {
  console.log(`VS Code ${vscode.version} (${vscode.env.appName}), extension host Node ${process.version}`);
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 30_000, reporter: 'spec' });
  // The multi-root session runs multiRoot.test.js alone; the folder session (and a desktop run) the others.
  const multiRoot = process.env.TRAC_BACKUP_INTEGRATION_SUITE === 'multi-root';
  readdirSync(__dirname)
    .filter((name) => name.endsWith('.test.js') && name.startsWith('multiRoot.') === multiRoot)
    .sort()
    .forEach((name) => mocha.addFile(path.join(__dirname, name)));

  const counts: Counts = { passed: 0, failed: 0, pending: 0 };
  try {
    await new Promise<void>((resolve) => {
      const runner = mocha.run(() => resolve());
      runner.on('pass', () => counts.passed++);
      runner.on('fail', () => counts.failed++);
      runner.on('pending', () => counts.pending++);
    });
  } catch (error) {
    // A test file that does not load: count it, so the layer fails visibly.
    console.error(error);
    counts.failed++;
  }
  await writeCounts(counts);
  if (counts.failed > 0 || counts.passed === 0) {
    throw new Error(`${counts.failed} test(s) failed, ${counts.passed} passed`);
  }
}
