import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { restore } from '../../../src/core/restore/restore';
import { BUILT_CLI } from '../../support/cliRun';
import { inspectDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { NODE_22, OWNER, chownToOwner, openInTrac, runAs } from '../../support/tracOpen';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const isRoot = process.getuid?.() === 0;
const hasGnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU tar') ?? false;

/** The environment opened, its log appended to, a ticket and its attachment written, by its owner. */
async function assertTracRuns(environment: string): Promise<void> {
  const before = inspectDatabase(path.join(environment, 'db', 'trac.db')).tickets;
  const opened = openInTrac(environment);
  assert.ok(opened.ok, `Trac could not open and write ${environment} as ${OWNER.name}: ${opened.output}`);
  assert.equal(opened.result?.databaseVersion, '45');
  assert.equal(opened.result?.uid, OWNER.uid);
  assert.equal(inspectDatabase(path.join(environment, 'db', 'trac.db')).tickets, before + 1);
  assert.match(await fs.readFile(path.join(environment, 'log', 'trac.log'), 'utf8'), /ticket \d+ created\n$/);
  await fs.access(path.join(environment, opened.result.attachment));
}

/**
 * The promise that a backup is "a complete environment": restored (from the folder or from an
 * archive, by root or by the environment's owner) or unpacked by hand with tar, it opens in Trac
 * run as the environment's owner, with [logging] log_type = file, and Trac can write to it.
 */
describe(
  'a restored environment opens and runs in Trac as its owner',
  { skip: !isRoot && 'runs steps as another user (CI runs as root)' },
  () => {
    let tmp: string;
    let backup: string;
    let archive: string;
    before(async () => {
      execFileSync(process.execPath, ['scripts/build.mjs', '--only=cli'], { cwd: ROOT, stdio: 'pipe' });
      tmp = await makeTempDir();
      // mkdtemp made it private to root: the owner must reach what is inside.
      await fs.chmod(tmp, 0o755);
      const env = await copyFixture('trac-1.6-populated', 'env', tmp);
      assert.match(await fs.readFile(path.join(env, 'conf', 'trac.ini'), 'utf8'), /^log_type = file$/m);
      chownToOwner(env);
      await assertTracRuns(env);
      backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest;
      archive = (await exportArchive(backup, path.join(tmp, 'env-1.tar.gz'))).archive;
      chownToOwner(archive);
    });
    after(async () => {
      await removeTempDir(tmp);
    });

    it('not the backup folder itself: it stays read-only (its files are shared with other backups), so Trac must not run on it in place', async () => {
      const opened = openInTrac(backup);
      assert.equal(opened.ok, false);
      assert.match(opened.output, /log\/trac\.log: \[Errno 13\] Permission denied/);
      assert.equal((await fs.stat(path.join(backup, 'db', 'trac.db'))).mode & 0o777, 0o444);
    });

    it('restored from the backup as root (owners kept)', async () => {
      const target = path.join(tmp, 'restored-by-root');
      await restore(backup, target);
      assert.equal((await fs.stat(path.join(target, 'log', 'trac.log'))).uid, OWNER.uid);
      await assertTracRuns(target);
    });

    it('restored from the archive as root', async () => {
      const target = path.join(tmp, 'restored-from-archive');
      const run = spawnSync(NODE_22, [BUILT_CLI, 'restore', archive, target], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      await assertTracRuns(target);
    });

    it('restored by its owner (the CLI run as that user), from the backup and from the archive', async () => {
      const area = path.join(tmp, 'owner-area');
      await fs.mkdir(area);
      chownToOwner(area);
      for (const [source, name] of [
        [backup, 'from-backup'],
        [archive, 'from-archive'],
      ]) {
        const target = path.join(area, name);
        const run = runAs(OWNER.name, NODE_22, [BUILT_CLI, 'restore', source, target]);
        assert.equal(run.status, 0, `${run.stderr}${run.stdout}`);
        assert.equal((await fs.stat(target)).uid, OWNER.uid);
        await assertTracRuns(target);
      }
    });

    it(
      'unpacked by hand with tar xzf (as archive --help says), by its owner',
      { skip: !hasGnuTar && 'GNU tar is not installed' },
      async () => {
        const target = path.join(tmp, 'by-hand');
        await fs.mkdir(target);
        chownToOwner(target);
        const run = runAs(OWNER.name, 'tar', ['xzf', archive, '-C', target]);
        assert.equal(run.status, 0, run.stderr);
        assert.equal((await fs.stat(path.join(target, 'conf', 'trac.ini'))).mode & 0o777, 0o644, 'the mode the environment had');
        await assertTracRuns(target);
      },
    );
  },
);
