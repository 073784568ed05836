import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireLease, activeLeases, isEnvironmentBusy } from '../../../src/core/work/lease';
import { StartedChild, startNode } from '../../support/childProcess';
import { makeTempDir, removeTempDir } from '../../support/fixtures';

const CHILD = path.join(__dirname, '..', '..', 'support', 'leaseChild.js');

describe('leases: what the CLI and every VS Code window know of each other', () => {
  let tmp: string;
  let env: string;
  let childEnv: NodeJS.ProcessEnv;
  const previous = process.env.TRAC_BACKUP_LEASE_DIR;
  before(async () => {
    tmp = await makeTempDir();
    process.env.TRAC_BACKUP_LEASE_DIR = path.join(tmp, 'leases');
    childEnv = { ...process.env };
    env = path.join(tmp, 'env');
    await fs.mkdir(env);
  });
  after(async () => {
    process.env.TRAC_BACKUP_LEASE_DIR = previous;
    if (previous === undefined) delete process.env.TRAC_BACKUP_LEASE_DIR;
    await removeTempDir(tmp);
  });

  /** A child holding a lease until killed or its stdin closes. */
  async function holder(kind: string, environment = env): Promise<StartedChild> {
    const child = startNode([CHILD, environment, kind, 'hold'], childEnv);
    assert.equal(await child.waitForLine(() => true), 'held', child.stderr());
    return child;
  }

  async function stop(child: StartedChild, signal: NodeJS.Signals | 'stdin' = 'stdin'): Promise<void> {
    if (signal === 'stdin') child.child.stdin?.end();
    else child.child.kill(signal);
    await child.exited;
  }

  it('lets backups run side by side, and a restore wait for them, naming the process', async () => {
    const backup = await holder('backup');
    try {
      const mine = await acquireLease(env, 'backup');
      await mine.release();
      const refused = await acquireLease(env, 'restore').then(
        () => assert.fail('a restore got its lease while a backup ran'),
        (error: unknown) => error,
      );
      assert.ok(isEnvironmentBusy(refused), String(refused));
      assert.match(
        String(refused),
        new RegExp(
          `Can't restore ${env.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} now: a backup run by the trac-backup command \\(process ${backup.child.pid}, since`,
        ),
      );
      assert.deepEqual(
        (await activeLeases(env)).map((lease) => [lease.kind, lease.pid]),
        [['backup', backup.child.pid]],
      );
    } finally {
      await stop(backup);
    }
    const restore = await acquireLease(env, 'restore');
    await restore.release();
  });

  it('refuses a backup while a restore runs, and forgets a restore that was killed', async () => {
    const restore = await holder('restore');
    const refused = startNode([CHILD, env, 'backup'], childEnv);
    assert.match(
      await refused.waitForLine(() => true),
      new RegExp(`^busy Can't back up .* a restore run by the trac-backup command \\(process ${restore.child.pid}`),
    );
    await refused.exited;
    await stop(restore, 'SIGKILL');
    assert.deepEqual(await activeLeases(env), [], 'the killed restore still counts');
    assert.deepEqual(await fs.readdir(path.join(tmp, 'leases')), [], 'the killed restore’s lease was not cleared');
    const backup = await acquireLease(env, 'backup');
    await backup.release();
  });

  it('lets one schedule at a time back an environment up, also when two start at once', async () => {
    for (let round = 0; round < 8; round++) {
      const children = [0, 1].map(() => startNode([CHILD, env, 'scheduled', 'hold'], childEnv));
      const answers = await Promise.all(children.map((child) => child.waitForLine(() => true)));
      try {
        assert.equal(answers.filter((answer) => answer === 'held').length, 1, `round ${round}: ${answers.join(' | ')}`);
        assert.match(
          answers.find((answer) => answer !== 'held')!,
          /^busy Can't back up .* a scheduled backup run by the trac-backup command/,
        );
      } finally {
        await Promise.all(children.map((child) => stop(child)));
      }
    }
  });

  it('takes over the schedule of a window that was killed, and not that of one still running', async () => {
    const killed = await holder('scheduled');
    await stop(killed, 'SIGKILL');
    const running = await holder('scheduled');
    try {
      await assert.rejects(acquireLease(env, 'scheduled'), (error: unknown) => isEnvironmentBusy(error));
    } finally {
      await stop(running, 'SIGKILL');
    }
    const mine = await acquireLease(env, 'scheduled');
    try {
      // This process's own schedule is alive while it holds it.
      await assert.rejects(acquireLease(env, 'scheduled'), (error: unknown) => isEnvironmentBusy(error));
      await assert.rejects(acquireLease(env, 'restore'), /a scheduled backup in this window/);
    } finally {
      await mine.release();
    }
    assert.deepEqual(await fs.readdir(path.join(tmp, 'leases')), [], 'a lease or lock was left behind');
  });

  it('knows an environment by its real path: a link to it is the same environment', async () => {
    const link = path.join(tmp, 'env-link');
    await fs.symlink(env, link);
    const backup = await holder('backup', link);
    try {
      await assert.rejects(acquireLease(env, 'restore'), (error: unknown) => isEnvironmentBusy(error));
    } finally {
      await stop(backup);
    }
  });
});
