// A restore from offsite is a restore: a snapshot whose files do not match its metadata is refused
// with the environment untouched, and a cancelled fetch leaves nothing beside the environment.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { recordVerification } from '../../../src/core/catalog/verificationStore';
import { verifyBackup } from '../../../src/core/verify/verify';
import { initRepository } from '../../../src/core/offsite/repositoryMaintenance';
import type { OffsiteRepository } from '../../../src/core/offsite/resticRepository';
import { isCancelled, TracBackupError } from '../../../src/core/shared/errors';
import { restoreFromOffsite } from '../../../src/core/workflows/restoreFromOffsite';
import { sweepEnvironmentLeftovers } from '../../../src/core/work/environmentSweep';
import { spawnSync } from 'node:child_process';
import { sendToOffsite } from '../../../src/core/workflows/sendToOffsite';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { testRepository } from '../../support/resticRepos';
import { walkTree } from '../../../src/core/fs/fileTree';

/** What a person could tell of a folder: every entry, its kind, size, mode, times and inode (a rewrite changes ctime). */
async function stateOf(dir: string): Promise<string[]> {
  return (await walkTree(dir))
    .map((entry) => `${entry.relative} ${entry.kind} ${entry.size} ${entry.mode} ${entry.mtimeMs} ${entry.ctimeMs} ${entry.ino}`)
    .sort();
}

describe('restore from offsite: checked as a backup, whole or not at all', () => {
  let tmp: string;
  let env: string;
  let repository: OffsiteRepository;
  let untouched: string[];
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    repository = testRepository(path.join(tmp, 'repo'), tmp);
    await initRepository(repository);
    untouched = await stateOf(env);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('a backup that was verified, then changed, is sent as it is; its snapshot is refused at restore, the environment untouched', async () => {
    const backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest;
    await recordVerification(await verifyBackup(backup));
    const ticket = path.join(backup, 'conf', 'trac.ini');
    await fs.chmod(ticket, 0o644);
    await fs.appendFile(ticket, '\n# changed after the verification\n');
    const sent = await sendToOffsite(backup, repository);
    assert.equal(sent.verifiedNow, false, 'a backup verified since it was made is not verified again');
    await assert.rejects(restoreFromOffsite(repository, 'latest', env, { replace: true }), (error: TracBackupError) => {
      assert.equal(error.code, 'BACKUP_DAMAGED', error.message);
      assert.match(
        error.message,
        /^The offsite snapshot [0-9a-f]{8} of .*repo holds a damaged or incomplete backup, so nothing was restored or changed: conf\/trac\.ini/,
      );
      assert.match(error.message, /Choose another snapshot/);
      assert.doesNotMatch(error.message, /\.fetch-/, 'the message names the work folder');
      return true;
    });
    assert.deepEqual(await stateOf(env), untouched, 'the environment changed');
    assert.deepEqual(
      (await fs.readdir(tmp)).filter((name) => name.startsWith('.')),
      [],
    );
  });

  it('a backup that fails verification is not sent', async () => {
    const backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-2'))).dest;
    const file = path.join(backup, 'conf', 'trac.ini');
    await fs.chmod(file, 0o644);
    await fs.appendFile(file, '\n# damaged\n');
    await assert.rejects(sendToOffsite(backup, repository), (error: TracBackupError) => {
      assert.equal(error.code, 'BACKUP_DAMAGED');
      assert.match(error.message, /failed verification .*conf\/trac\.ini.*it was not sent/);
      return true;
    });
  });

  it('a fetch cancelled while restic restores leaves the environment and nothing beside it', async () => {
    const backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-3'))).dest;
    await sendToOffsite(backup, repository);
    const controller = new AbortController();
    const restoring = restoreFromOffsite(repository, 'latest', env, {
      replace: true,
      signal: controller.signal,
      onFetching: () => setImmediate(() => controller.abort()),
    });
    await assert.rejects(restoring, (error: unknown) => isCancelled(error));
    assert.deepEqual(await stateOf(env), untouched);
    assert.deepEqual(
      (await fs.readdir(tmp)).filter((name) => name.startsWith('.')),
      [],
    );
  });

  it("a fetch's work folder left by a killed process is swept, said as what it was, with its size", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid; // a process that has exited
    const leftover = path.join(tmp, `.env.fetch-${dead}-0123abcd`);
    await fs.mkdir(path.join(leftover, 'backup'), { recursive: true });
    await fs.writeFile(path.join(leftover, 'backup', 'VERSION'), 'Trac Environment Version 1\n');
    const swept = await sweepEnvironmentLeftovers({ environment: env, backupFolder: path.join(tmp, 'backups') });
    const mine = swept.filter((item) => item.path === leftover);
    assert.equal(mine.length, 1, JSON.stringify(swept));
    assert.equal(mine[0].action, 'removed');
    assert.match(mine[0].message, /a copy of an offsite snapshot for env \(\d+ B\) left by a restore from offsite that was stopped/);
    await assert.rejects(fs.lstat(leftover));
  });
});
