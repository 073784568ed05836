import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TracBackupError } from '../../../src/core/shared/errors';
import { restore } from '../../../src/core/restore/restore';
import { setFsRetrySeam } from '../../../src/core/fs/retry';
import { readManifest } from '../../../src/core/catalog/manifest';
import { journalPath } from '../../../src/core/work/restoreJournal';
import { findRestoreLeftovers } from '../../../src/core/work/restoreLeftovers';
import { startNode } from '../../support/childProcess';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { RestoreCase, besideEnvironment, makeRestoreCase, withoutManifest } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';

/** The id of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = startNode(['-e', '']);
  await child.exited;
  return child.child.pid!;
}

/** A copy of the backup, as a restore builds it, in a temporary folder owned by `pid`. */
async function partialCopy(scenario: RestoreCase, pid: number, complete: boolean): Promise<string> {
  const temp = path.join(path.dirname(scenario.env), `.env.restore-${pid}-0badcafe`);
  await fs.cp(scenario.backup, temp, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  // As a restore builds it: each file gets back the mode the metadata records (a backup keeps them read-only).
  for (const entry of (await readManifest(scenario.backup))?.entries ?? []) {
    if (entry.type === 'file') {
      await fs.chmod(path.join(temp, ...entry.path.split('/')), entry.mode);
    }
  }
  await fs.rm(path.join(temp, '.trac-backup.json'));
  if (!complete) {
    await fs.rm(path.join(temp, 'db'), { recursive: true });
  }
  return temp;
}

describe('restore after a failure or a killed run', () => {
  let tmp: string;
  let area = 0;
  const scenario = () => makeRestoreCase(path.join(tmp, `case-${++area}`));
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('undoes a swap whose second rename fails: nothing changed, nothing left', async () => {
    const { backup, env, old } = await scenario();
    let renames = 0;
    setFsRetrySeam({
      rename: async (from, to) => {
        if (to === env && ++renames === 1) {
          throw Object.assign(new Error(`EACCES: permission denied, rename '${from}' -> '${to}'`), { code: 'EACCES' });
        }
        await fs.rename(from, to);
      },
    });
    try {
      await assert.rejects(restore(backup, env, { replace: true }), (error: TracBackupError) => {
        assert.equal(error.code, 'RESTORE_FAILED');
        assert.match(error.message, /EACCES.*it was undone: nothing was changed/);
        return true;
      });
    } finally {
      setFsRetrySeam(undefined);
    }
    assert.deepEqual(await fingerprintTree(env), old);
    assert.deepEqual(await besideEnvironment(env), { asides: [], work: [] });
  });

  it('keeps everything when the undo fails too, and the next run finishes the swap', async () => {
    const { backup, env, old, restored } = await scenario();
    setFsRetrySeam({
      rename: async (from, to) => {
        if (to === env || from.startsWith(`${env}.before-restore-`)) {
          throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
        }
        await fs.rename(from, to);
      },
    });
    try {
      await assert.rejects(restore(backup, env, { replace: true }), /could not be undone.*Run the restore again/);
    } finally {
      setFsRetrySeam(undefined);
    }
    const { asides, work } = await besideEnvironment(env);
    assert.equal(asides.length, 1);
    assert.deepEqual(await fingerprintTree(path.join(path.dirname(env), asides[0])), old, 'the old environment is kept');
    assert.equal(work.length, 2, `the finished copy and the journal stay: ${work.join(', ')}`);
    const found = await findRestoreLeftovers(env);
    assert.deepEqual(
      found.map((leftover) => [leftover.kind, leftover.action, leftover.done]),
      [['journal', 'finish', false]],
    );
    await assert.rejects(fs.access(env), { code: 'ENOENT' }, 'finding changes nothing');

    const result = await restore(backup, env, { replace: true });

    assert.deepEqual(
      result.leftovers.map((leftover) => [leftover.kind, leftover.action, leftover.done]),
      [['journal', 'finish', true]],
    );
    assert.match(
      result.leftovers[0].detail,
      /stopped while swapping folders; finished it: move the restored copy .*\.env\.restore-\d+-[0-9a-f]+ into/,
    );
    assert.deepEqual(await fingerprintTree(env, withoutManifest), restored);
    const after = await besideEnvironment(env);
    assert.deepEqual(after.work, []);
    // Running it again finished that restore: it did not restore the same backup a second time.
    assert.equal(after.asides.length, 1, `a second restore kept the first one's result aside: ${after.asides.join(', ')}`);
    assert.deepEqual(await fingerprintTree(path.join(path.dirname(env), after.asides[0])), old);
    assert.deepEqual(await fingerprintTree(result.aside!), old, 'the result names where the interrupted restore kept the old environment');
    assert.match(result.notes.join(' '), /had been stopped while swapping folders: this run finished it/);
  });

  it('finishes a swap interrupted between its two renames (journal, environment moved aside, copy complete)', async () => {
    const current = await scenario();
    const { backup, env, old, restored } = current;
    const pid = await deadPid();
    const temp = await partialCopy(current, pid, true);
    const aside = `${env}.before-restore-20240101-000000`;
    await fs.rename(env, aside);
    const startedAt = new Date().toISOString();
    await fs.writeFile(
      journalPath(env),
      JSON.stringify({ format: 1, pid, host: os.hostname(), startedAt, environment: env, backup, pairs: [{ live: env, temp, aside }] }),
    );

    const result = await restore(backup, env, { replace: true });

    assert.equal(result.leftovers.length, 1);
    assert.equal(result.leftovers[0].action, 'finish');
    assert.deepEqual(await fingerprintTree(aside), old);
    assert.deepEqual(await fingerprintTree(env, withoutManifest), restored);
    assert.deepEqual((await besideEnvironment(env)).work, []);
  });

  it('removes a partial copy left by a killed run, and reports it', async () => {
    const current = await scenario();
    const temp = await partialCopy(current, await deadPid(), false);

    const found = await findRestoreLeftovers(current.env);
    assert.deepEqual(
      found.map((leftover) => [leftover.path, leftover.action, leftover.done]),
      [[temp, 'remove', false]],
    );
    await fs.access(temp);

    const result = await restore(current.backup, current.env, { replace: true });

    assert.deepEqual(
      result.leftovers.map((leftover) => [leftover.path, leftover.action, leftover.done]),
      [[temp, 'remove', true]],
    );
    await assert.rejects(fs.access(temp), { code: 'ENOENT' });
    assert.deepEqual(await fingerprintTree(result.aside!), current.old);
  });

  it('refuses while another restore of the environment is running', async () => {
    const current = await scenario();
    const other = startNode(['-e', 'console.log("running"); setInterval(() => {}, 1000)']);
    try {
      await other.waitForLine((line) => line === 'running');
      const temp = await partialCopy(current, other.child.pid!, false);

      await assert.rejects(restore(current.backup, current.env, { replace: true }), (error: TracBackupError) => {
        assert.equal(error.code, 'RESTORE_IN_PROGRESS');
        assert.ok(error.message.includes(`Another restore of ${current.env} is running (process ${other.child.pid})`), error.message);
        return true;
      });

      await fs.access(temp);
      assert.deepEqual(await fingerprintTree(current.env), current.old);
      const found = await findRestoreLeftovers(current.env);
      assert.deepEqual(
        found.map((leftover) => leftover.action),
        ['keep'],
      );
    } finally {
      other.child.kill();
      await other.exited;
    }
  });
});
