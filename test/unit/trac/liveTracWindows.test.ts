// Windows has no /proc and no ps: an idle tracd or Apache holding a file of the environment open
// is found by what it does there, a rename of the folder refused (EPERM, EBUSY, EACCES). Played
// on Linux through fs/retry.ts's seam: the platform, and a rename refused as Windows refuses it.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setFsRetrySeam } from '../../../src/core/fs/retry';
import { restore } from '../../../src/core/restore/restore';
import { TracBackupError } from '../../../src/core/shared/errors';
import { detectLiveTrac } from '../../../src/core/trac/liveTrac';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { besideEnvironment, makeRestoreCase } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';

/** Plays Windows where `held` holds a file of the folder open: renaming that folder is refused. */
function windowsWithHandleIn(held: string | undefined, renames: Array<[string, string]> = []) {
  setFsRetrySeam({
    platform: 'win32',
    delays: [1],
    budgetMs: 20,
    rename: async (from, to) => {
      renames.push([from, to]);
      if (from === held) {
        throw Object.assign(new Error(`EBUSY: resource busy or locked, rename '${from}' -> '${to}'`), { code: 'EBUSY' });
      }
      await fs.rename(from, to);
    },
  });
  return renames;
}

describe('a running Trac on Windows: the environment folder cannot be renamed', () => {
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

  it('is reported as in use, and a restore refuses before copying anything', async () => {
    const { backup, env, old } = await makeRestoreCase(next(), 'trac-1.6-fresh');
    windowsWithHandleIn(env);
    const report = await detectLiveTrac(env);
    assert.equal(report.running, true);
    assert.equal(report.heldOpen, true);
    assert.match(report.summary ?? '', /its folder cannot be renamed, so a process holds a file in it open \(tracd, Apache/);
    await assert.rejects(restore(backup, env, { replace: true }), (error: TracBackupError) => {
      assert.equal(error.code, 'TRAC_RUNNING');
      assert.match(error.message, /cannot be renamed.*Stop Trac.*--force/);
      return true;
    });
    assert.deepEqual(await fingerprintTree(env), old);
    assert.deepEqual(await besideEnvironment(env), { asides: [], work: [] }, 'no copy was made');
  });

  it('a folder nobody holds is put back at once, and the restore goes on', async () => {
    const { backup, env } = await makeRestoreCase(next(), 'trac-1.6-fresh');
    const renames = windowsWithHandleIn(undefined);
    const report = await detectLiveTrac(env);
    assert.equal(report.running, false, report.summary);
    assert.deepEqual(renames, [
      [env, `${env}.in-use-check-${process.pid}`],
      [`${env}.in-use-check-${process.pid}`, env],
    ]);
    await fs.access(path.join(env, 'VERSION'));
    assert.deepEqual(await fs.readdir(path.dirname(env)).then((names) => names.filter((name) => name.includes('in-use-check'))), []);
    const result = await restore(backup, env, { replace: true });
    assert.ok(result.aside);
  });

  it('is not tried where processes can be listed (Linux, macOS), nor where nothing may be written', async () => {
    const { env } = await makeRestoreCase(next(), 'trac-1.6-fresh');
    const renames: Array<[string, string]> = [];
    setFsRetrySeam({ rename: (from, to) => Promise.resolve(void renames.push([from, to])) });
    assert.equal((await detectLiveTrac(env)).running, false);
    windowsWithHandleIn(env, renames);
    assert.equal((await detectLiveTrac(env, { tryLock: false })).running, false);
    assert.deepEqual(renames, []);
  });
});
