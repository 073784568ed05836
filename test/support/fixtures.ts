import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Verifications are recorded in a per-user store (src/core/catalog/verificationStore.ts): never in the
 * home folder of whoever runs the tests. The unit runner gives each run its own folder; a test
 * file run on its own gets one here, which its child processes inherit.
 */
if (!process.env.TRAC_BACKUP_STATE_DIR) {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'trac-backup-state-'));
  process.env.TRAC_BACKUP_STATE_DIR = stateDir;
  process.on('exit', () => rmSync(stateDir, { recursive: true, force: true }));
}

/** The repository's copies of real Trac 1.6 environments (see test/fixtures/README.md). */
export const FIXTURES_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');

export type FixtureName = 'trac-1.6-fresh' | 'trac-1.6-populated';

/** A new empty temporary folder, removed by the returned cleanup. */
export async function makeTempDir(prefix = 'trac-backup-test-'): Promise<string> {
  return fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
}

/**
 * Copies a fixture into a fresh temporary folder (fixtures are never used in place) and
 * returns the copy's path, `<tmp>/<as>`. Adds the empty htdocs/ and plugins/ that git drops.
 */
export async function copyFixture(name: FixtureName, as: string = name, parent?: string): Promise<string> {
  const dir = parent ?? (await makeTempDir());
  const target = path.join(dir, as);
  await fs.cp(path.join(FIXTURES_DIR, name), target, { recursive: true, preserveTimestamps: true });
  await fs.mkdir(path.join(target, 'htdocs'), { recursive: true });
  await fs.mkdir(path.join(target, 'plugins'), { recursive: true });
  return target;
}

/** Removes a temporary folder, making read-only parts writable first. */
export async function removeTempDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}
