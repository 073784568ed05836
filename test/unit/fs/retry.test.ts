import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { deleteBackup } from '../../../src/core/catalog/prune';
import { removeTree } from '../../../src/core/fs/fileTree';
import { isTransientFsError, renameWithRetry, setFsRetrySeam } from '../../../src/core/fs/retry';
import { restore } from '../../../src/core/restore/restore';
import { TracBackupError } from '../../../src/core/shared/errors';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { besideEnvironment, makeRestoreCase, withoutManifest } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';

const refused = (code: string, from: string, to: string) =>
  Object.assign(new Error(`${code}: operation not permitted, rename '${from}' -> '${to}'`), { code });

/**
 * Plays Windows on Linux: renames whose target (or source) `matches` fail with `code` the first
 * `times` times, as Defender, the indexer or an open handle make them fail there for a moment.
 */
function refuseRenames(matches: (from: string, to: string) => boolean, times: number, code = 'EPERM') {
  const calls = { refused: 0, done: 0 };
  setFsRetrySeam({
    platform: 'win32',
    delays: [1, 2, 5],
    rename: async (from, to) => {
      if (matches(from, to) && calls.refused < times) {
        calls.refused++;
        throw refused(code, from, to);
      }
      await fs.rename(from, to);
      calls.done++;
    },
  });
  return calls;
}

// The restores here pass force: what they test is the swap, not the in-use check before it
// (test/unit/trac/liveTracWindows.test.ts), which would find the refused folder in use.
describe('renames and removals refused for a moment (Windows: EPERM, EBUSY, EACCES)', () => {
  let tmp: string;
  let area = 0;
  const next = () => path.join(tmp, `case-${++area}`);
  before(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => setFsRetrySeam(undefined));
  after(async () => {
    await removeTempDir(tmp);
  });

  it('retries EPERM and EACCES only on Windows (on POSIX they are permissions), and EBUSY everywhere', () => {
    const error = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(isTransientFsError(error('EPERM'), 'win32'), true);
    assert.equal(isTransientFsError(error('EACCES'), 'win32'), true);
    assert.equal(isTransientFsError(error('EBUSY'), 'win32'), true);
    assert.equal(isTransientFsError(error('EBUSY'), 'linux'), true);
    assert.equal(isTransientFsError(error('EPERM'), 'linux'), false);
    assert.equal(isTransientFsError(error('EACCES'), 'darwin'), false);
    assert.equal(isTransientFsError(error('ENOENT'), 'win32'), false);
    assert.equal(isTransientFsError(error('EXDEV'), 'win32'), false);
  });

  it('a rename still refused when its time is up fails with the last error', async () => {
    const dir = next();
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'a'), 'a');
    const calls = refuseRenames(() => true, 1_000, 'EBUSY');
    await assert.rejects(renameWithRetry(path.join(dir, 'a'), path.join(dir, 'b'), { budgetMs: 50 }), { code: 'EBUSY' });
    assert.ok(calls.refused > 1, `it tried again (${calls.refused} attempts)`);
    await fs.access(path.join(dir, 'a'));
  });

  it('publishes a backup whose final rename is refused the first 3 times', async () => {
    const parent = next();
    const env = await copyFixture('trac-1.6-fresh', 'env', parent);
    const dest = path.join(parent, 'backups', 'b1');
    const calls = refuseRenames((_from, to) => to === dest, 3);
    const result = await hotcopy(env, dest);
    assert.equal(result.dest, dest);
    assert.equal(calls.refused, 3);
    await fs.access(path.join(dest, '.trac-backup.json'));
    assert.deepEqual(
      (await fs.readdir(path.join(parent, 'backups'))).filter((name) => name !== 'b1'),
      [],
      'no work folder left beside it',
    );
  });

  it('restores over an environment whose renames are refused the first 3 times each (EBUSY then EPERM)', async () => {
    const { backup, env, restored } = await makeRestoreCase(next(), 'trac-1.6-fresh');
    let count = 0;
    setFsRetrySeam({
      platform: 'win32',
      delays: [1, 2, 5],
      rename: async (from, to) => {
        if ((from === env || to === env) && count++ % 4 !== 3) {
          throw refused(count % 2 ? 'EBUSY' : 'EPERM', from, to);
        }
        await fs.rename(from, to);
      },
    });
    const result = await restore(backup, env, { replace: true, force: true });
    assert.equal(count, 8, 'both renames of the environment were tried four times each');
    assert.deepEqual(await fingerprintTree(env, withoutManifest), restored);
    assert.ok(result.aside);
  });

  it('a swap whose second rename fails for good is undone even while the undo is refused for a moment: the path is never left empty', async () => {
    const { backup, env, old } = await makeRestoreCase(next(), 'trac-1.6-fresh');
    let undoRefusals = 0;
    setFsRetrySeam({
      platform: 'win32',
      delays: [1, 2, 5],
      rename: async (from, to) => {
        if (to === env && !from.includes('.before-restore-')) {
          throw refused('EIO', from, to); // the copy cannot go in
        }
        if (to === env && undoRefusals < 5) {
          undoRefusals++;
          throw refused('EBUSY', from, to); // and the undo is refused for a moment
        }
        await fs.rename(from, to);
      },
    });
    await assert.rejects(restore(backup, env, { replace: true, force: true }), (error: TracBackupError) => {
      assert.equal(error.code, 'RESTORE_FAILED');
      assert.match(error.message, /it was undone: nothing was changed/);
      return true;
    });
    assert.equal(undoRefusals, 5);
    assert.deepEqual(await fingerprintTree(env), old);
    assert.deepEqual(await besideEnvironment(env), { asides: [], work: [] });
  });

  it('a swap refused for good says what holds the folder', async () => {
    const { backup, env, old } = await makeRestoreCase(next(), 'trac-1.6-fresh');
    setFsRetrySeam({
      platform: 'win32',
      delays: [1],
      budgetMs: 50,
      rename: async (from, to) => {
        if (from === env) {
          throw refused('EBUSY', from, to);
        }
        await fs.rename(from, to);
      },
    });
    await assert.rejects(
      restore(backup, env, { replace: true, force: true }),
      /it was undone: nothing was changed\. .* stayed in use .*terminal or an editor whose folder is inside.*Close it and try again/,
    );
    assert.deepEqual(await fingerprintTree(env), old);
  });

  it('deletes a backup whose folder is refused the first 3 times (prune, Delete)', async () => {
    const parent = next();
    const env = await copyFixture('trac-1.6-fresh', 'env', parent);
    const { dest } = await hotcopy(env, path.join(parent, 'backups', 'b1'));
    const calls = refuseRenames((from) => from === dest, 3);
    await deleteBackup(dest);
    assert.equal(calls.refused, 3);
    await assert.rejects(fs.access(dest), { code: 'ENOENT' });
    assert.deepEqual(await fs.readdir(path.join(parent, 'backups')), []);
  });

  it('removes a tree whose removal is refused the first 2 times', async () => {
    const dir = path.join(next(), 'tree');
    await fs.mkdir(path.join(dir, 'a', 'b'), { recursive: true });
    await fs.writeFile(path.join(dir, 'a', 'b', 'f'), 'x');
    let refusals = 0;
    setFsRetrySeam({
      platform: 'win32',
      delays: [1, 2, 5],
      rm: async (target) => {
        if (refusals < 2) {
          refusals++;
          throw Object.assign(new Error(`EBUSY: resource busy or locked, rmdir '${target}'`), { code: 'EBUSY' });
        }
        await fs.rm(target, { recursive: true, force: true });
      },
    });
    await removeTree(dir);
    assert.equal(refusals, 2);
    await assert.rejects(fs.access(dir), { code: 'ENOENT' });
  });
});
