// Where things are, from the repository root.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES_DIR = path.join(ROOT, 'test', 'fixtures');
export const RESULTS_DIR = path.join(ROOT, 'test-results');
export const SCREENSHOTS_DIR = path.join(RESULTS_DIR, 'screenshots');
export const CODE_SERVER_DIR = path.join(ROOT, '.cache', 'code-server', 'node_modules', 'code-server');
export const CODE_SERVER_ENTRY = path.join(CODE_SERVER_DIR, 'out', 'node', 'entry.js');
export const VSIX = path.join(ROOT, 'trac-backup.vsix');

/** vsce's target for this machine ("linux-x64"; musl Linux is "alpine-…"). */
export function hostTarget() {
  const musl = process.platform === 'linux' && !process.report?.getReport().header.glibcVersionRuntime;
  return `${musl ? 'alpine' : process.platform}-${process.arch}`;
}

/** The per-platform package for this machine, which the e2e tests install (scripts/package.mjs). */
export const HOST_VSIX = path.join(ROOT, `trac-backup-${hostTarget()}.vsix`);
export const EXTENSION_ID = 'trac-backup.trac-backup';

/** Node 22 from the node@22 devDependency: code-server and better-sqlite3 13 need it. */
export const NODE22 = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');

export function requireCodeServer() {
  if (!existsSync(CODE_SERVER_ENTRY)) {
    throw new Error('code-server is not set up: run scripts/setup-code-server.sh first');
  }
}

/** "code-server 4.103.2 (VS Code 1.103.2)", read from its package files. */
export function codeServerVersion() {
  const read = (file) => JSON.parse(readFileSync(path.join(CODE_SERVER_DIR, file), 'utf8')).version;
  return `code-server ${read('package.json')} (VS Code ${read('lib/vscode/package.json')})`;
}
