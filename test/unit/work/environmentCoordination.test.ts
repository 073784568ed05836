import * as assert from 'node:assert/strict';
import { promises as fs, renameSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TracBackupError } from '../../../src/core/shared/errors';
import { HotcopyPhase } from '../../../src/core/backup/backupProgress';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { detectLiveTrac } from '../../../src/core/trac/liveTrac';
import { restore } from '../../../src/core/restore/restore';
import { StartedChild, startNode } from '../../support/childProcess';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { fingerprintTree } from '../../support/treeCompare';

const CHILD = path.join(__dirname, '..', '..', 'support', 'leaseChild.js');

/** A child process holding a lease on the environment (another window, the CLI), with `file` open. */
async function holding(environment: string, kind: string, file?: string): Promise<StartedChild> {
  const child = startNode([CHILD, environment, kind, 'hold', ...(file ? [file] : [])]);
  assert.equal(await child.waitForLine(() => true), 'held', child.stderr());
  return child;
}

async function stop(child: StartedChild): Promise<void> {
  child.child.stdin?.end();
  await child.exited;
}

describe('backups and restores of one environment know of each other across processes', () => {
  let tmp: string;
  let env: string;
  let backup: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('a backup refuses while another process restores the environment, and makes nothing', async () => {
    const restoring = await holding(env, 'restore');
    try {
      await assert.rejects(hotcopy(env, path.join(tmp, 'backups', 'during-restore')), (error: TracBackupError) => {
        assert.equal(error.code, 'ENVIRONMENT_BUSY');
        assert.match(error.message, new RegExp(`a restore run by the trac-backup command \\(process ${restoring.child.pid}`));
        return true;
      });
      await assert.rejects(fs.access(path.join(tmp, 'backups', 'during-restore')), { code: 'ENOENT' });
    } finally {
      await stop(restoring);
    }
  });

  it('a restore refuses while another process backs the environment up, and changes nothing', async () => {
    const before = await fingerprintTree(env);
    const backingUp = await holding(env, 'backup', path.join(env, 'db', 'trac.db'));
    try {
      await assert.rejects(restore(backup, env, { replace: true, force: true }), (error: TracBackupError) => {
        assert.equal(error.code, 'ENVIRONMENT_BUSY');
        assert.match(
          error.message,
          new RegExp(`Can't restore .* a backup run by the trac-backup command \\(process ${backingUp.child.pid}`),
        );
        return true;
      });
      assert.deepEqual(await fingerprintTree(env), before);
      // What finds a running Trac does not take that backup for Trac, although it holds the database open.
      const live = await detectLiveTrac(env);
      assert.equal(live.running, false, live.summary);
      assert.deepEqual(
        live.others.map((holder) => [holder.kind, holder.pid]),
        [['backup', backingUp.child.pid]],
      );
      assert.ok(
        !live.processes.some((found) => found.pid === backingUp.child.pid),
        'the backup was listed as a process using the environment',
      );
    } finally {
      await stop(backingUp);
    }
  });

  it('a backup fails, keeping nothing, when the environment is replaced while it runs', async () => {
    const victim = await copyFixture('trac-1.6-populated', 'replaced', tmp);
    const other = await copyFixture('trac-1.6-fresh', 'other', tmp);
    let swapped = false;
    const swapAt: HotcopyPhase = 'finish';
    await assert.rejects(
      hotcopy(victim, path.join(tmp, 'backups', 'replaced-1'), {
        onProgress: (event) => {
          if (event.phase === swapAt && !swapped) {
            swapped = true;
            // As a restore that takes no lease would: the folder moved aside, another one put in.
            renameSync(victim, `${victim}.before-restore-20240101-000000`);
            renameSync(other, victim);
          }
        },
      }),
      (error: TracBackupError) => {
        assert.equal(error.code, 'ENVIRONMENT_REPLACED');
        assert.match(error.message, /was replaced while it was being backed up .* nothing was kept/);
        return true;
      },
    );
    assert.ok(swapped, 'the backup never reached the phase the test swaps at');
    assert.deepEqual(
      (await fs.readdir(path.join(tmp, 'backups'))).filter((name) => name.startsWith('replaced') || name.includes('replaced-1')),
      [],
    );
  });

  it('two backups of one second into one folder both succeed, under two names, when asked to move on', async () => {
    const folder = path.join(tmp, 'same-second');
    const results = await Promise.all([0, 1].map(() => hotcopy(env, path.join(folder, 'env-20240101-000000'), { nextFreeName: true })));
    assert.deepEqual(results.map((result) => path.basename(result.dest)).sort(), ['env-20240101-000000', 'env-20240101-000000-2']);
    assert.deepEqual((await fs.readdir(folder)).sort(), ['env-20240101-000000', 'env-20240101-000000-2']);
    // Without it, the CLI's rule holds: an existing destination is refused.
    await assert.rejects(hotcopy(env, path.join(folder, 'env-20240101-000000')), { code: 'DESTINATION_EXISTS' });
  });
});
