// Temporary folders under os.tmpdir(), and workspaces holding copies of the Trac fixtures
// (the same way test/support/fixtures.ts copies them: never used in place).
import { promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES_DIR } from './paths.mjs';

const made = new Set();
// Also on Ctrl+C or a crash (processes.mjs exits the process on signals).
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export async function makeTempDir(prefix = 'trac-backup-') {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
  made.add(dir);
  return dir;
}

export async function removeDir(dir) {
  if (!dir) return;
  await fs.rm(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Copies a fixture to parent/as and adds the empty htdocs/ and plugins/ that git drops. */
export async function copyFixture(name, parent, as = name) {
  const target = path.join(parent, as);
  await fs.cp(path.join(FIXTURES_DIR, name), target, { recursive: true, preserveTimestamps: true });
  await fs.mkdir(path.join(target, 'htdocs'), { recursive: true });
  await fs.mkdir(path.join(target, 'plugins'), { recursive: true });
  return target;
}

/**
 * A new temporary workspace folder with copies of the named fixtures (default: both).
 * Returns its path; remove it with removeDir.
 */
export async function makeWorkspace(fixtures = ['trac-1.6-fresh', 'trac-1.6-populated'], prefix = 'trac-backup-ws-') {
  const dir = await makeTempDir(prefix);
  for (const name of fixtures) await copyFixture(name, dir);
  return dir;
}
