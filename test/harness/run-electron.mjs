// The integration suite in VS Code desktop (Electron), for machines that reach Microsoft's update
// service: @vscode/test-electron downloads VS Code into .vscode-test/. Not usable offline; there,
// npm run test:integration runs the same suite in code-server.
// VSCODE_VERSION picks the version (default: stable; 1.101 or later for better-sqlite3 13).
import { runTests } from '@vscode/test-electron';
import * as path from 'node:path';
import { ROOT } from './paths.mjs';
import { compileTests, buildBundle, resultsFile } from './prepare.mjs';
import { makeTempDir, makeWorkspace, removeDir } from './tempDirs.mjs';

buildBundle();
compileTests();
const workspace = await makeWorkspace();
// Where the extension records verifications: a folder of this run, not the tester's home.
const stateDir = await makeTempDir('trac-backup-state-');
let code;
try {
  code = await runTests({
    version: process.env.VSCODE_VERSION || 'stable',
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: path.join(ROOT, 'out', 'test', 'integration', 'index.js'),
    extensionTestsEnv: { TRAC_BACKUP_TEST_RESULTS: resultsFile('electron'), TRAC_BACKUP_STATE_DIR: stateDir },
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
} catch (error) {
  console.error(`electron: ${error.message ?? error}`);
  code = 1;
} finally {
  await removeDir(workspace);
  await removeDir(stateDir);
}
process.exit(code);
