import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDatabaseCheckThread } from '../../../src/core/sqlite/databaseCheckThread';
import { CancelledError } from '../../../src/core/shared/errors';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

/** A thread started before its check is wanted (hotcopy and restore start it as they begin copying). */
describe('a database check thread started beforehand', () => {
  let tmp: string;
  let database: string;
  before(async () => {
    tmp = await makeTempDir();
    database = path.join(await copyFixture('trac-1.6-populated', 'env', tmp), 'db', 'trac.db');
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('checks the database it is given later, once', async () => {
    const thread = startDatabaseCheckThread();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the copy runs meanwhile
    const check = await thread.check(database, 'integrity_check');
    assert.deepEqual({ ok: check.ok, version: check.version, problems: check.problems }, { ok: true, version: '45', problems: [] });
    await assert.rejects(() => thread.check(database, 'quick_check'), /one check/);
  });

  it('says what is wrong with a damaged database given later', async () => {
    const damaged = path.join(tmp, 'damaged.db');
    const bytes = await fs.readFile(database);
    bytes.fill(0x5a, 4096 * 3, 4096 * 6); // pages of tables overwritten
    await fs.writeFile(damaged, bytes);
    const thread = startDatabaseCheckThread();
    const check = await thread.check(damaged, 'integrity_check');
    assert.equal(check.ok, false);
    assert.ok(check.problems.length > 0);
  });

  it('refuses a check after stop, and a cancelled one, without running it', async () => {
    const stopped = startDatabaseCheckThread();
    stopped.stop();
    await assert.rejects(() => stopped.check(database, 'quick_check'), /one check/);
    const cancelled = startDatabaseCheckThread();
    await assert.rejects(
      () => cancelled.check(database, 'quick_check', { signal: AbortSignal.abort(), what: 'The backup' }),
      (error: unknown) => error instanceof CancelledError,
    );
  });
});
