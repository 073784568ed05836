import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { HOTCOPY_PHASES, HotcopyProgress } from '../../../src/core/backup/backupProgress';
import { cancelWhen } from '../../support/cancel';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { fingerprintTree } from '../../support/treeCompare';
import { openTracDatabase } from '../../support/database';

const isSideFile = (relative: string) => /^db\/trac\.db-/.test(relative);

describe('cancelling a hotcopy', () => {
  let tmp: string;
  let env: string;
  let original: Map<string, string>;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    original = await fingerprintTree(env, isSideFile);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  /** Cancels when `when` first says so; checks that nothing is left and the source is untouched. */
  async function cancelHotcopyWhen(name: string, when: (event: HotcopyProgress) => boolean, includeDatabase = true) {
    const parent = path.join(tmp, `cancel-${name}`);
    const dest = path.join(parent, 'backup');
    await cancelWhen<HotcopyProgress>(
      (signal, onProgress) => hotcopy(env, dest, { includeDatabase, signal, onProgress }),
      when,
      /cancelled/,
      name,
    );
    // The run made the parent folder: it goes too, with the temporary folder.
    await assert.rejects(
      fs.readdir(parent),
      { code: 'ENOENT' },
      `${name}: a destination, a temporary folder or the parent made for them is left`,
    );
    assert.deepEqual(await fingerprintTree(env, isSideFile), original, `${name}: the source is untouched`);
    // The lock is released: a writer gets in at once.
    const db = openTracDatabase(path.join(env, 'db', 'trac.db'));
    try {
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
    } finally {
      db.close();
    }
  }

  for (const phase of HOTCOPY_PHASES) {
    it(`at the start of '${phase}' leaves nothing behind`, async () => {
      await cancelHotcopyWhen(phase, (event) => event.phase === phase);
    });
  }

  it('in the middle of copying the files leaves nothing behind', async () => {
    await cancelHotcopyWhen('mid-copy', (event) => event.phase === 'copy' && event.filesDone >= 10);
  });

  it('without the database, at the start of each of its phases, leaves nothing behind', async () => {
    for (const phase of ['scan', 'copy', 'catch-up', 'finish', 'verify', 'publish']) {
      await cancelHotcopyWhen(`nodb-${phase}`, (event) => event.phase === phase, false);
    }
  });

  it("while waiting for Trac's write lock stops waiting and leaves nothing behind", async () => {
    const trac = openTracDatabase(path.join(env, 'db', 'trac.db'));
    trac.exec('BEGIN IMMEDIATE');
    const parent = path.join(tmp, 'cancel-waiting-for-lock');
    const controller = new AbortController();
    try {
      const started = performance.now();
      await assert.rejects(
        hotcopy(env, path.join(parent, 'backup'), {
          signal: controller.signal,
          onProgress: (event) => {
            if (event.phase === 'lock') {
              setTimeout(() => controller.abort(), 150);
            }
          },
        }),
        { code: 'CANCELLED' },
      );
      assert.ok(performance.now() - started < 5000, 'it did not sit out the busy timeout');
      await assert.rejects(fs.readdir(parent), { code: 'ENOENT' }, 'something is left, or the parent the run made');
    } finally {
      trac.exec('ROLLBACK');
      trac.close();
    }
  });

  it('before it starts creates nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const parent = path.join(tmp, 'cancel-early');
    await assert.rejects(hotcopy(env, path.join(parent, 'backup'), { signal: controller.signal }), { code: 'CANCELLED' });
    await assert.rejects(fs.access(parent), { code: 'ENOENT' });
  });
});
