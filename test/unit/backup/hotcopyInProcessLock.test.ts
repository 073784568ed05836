import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { environmentChangedSince } from '../../../src/core/backup/changedSinceBackup';
import { DatabaseSnapshotter } from '../../../src/core/sqlite/databaseSnapshot';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { inspectSource } from '../../../src/core/backup/hotcopySource';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** True when another process can take the database's write lock at once. */
function writableFromAnotherProcess(file: string): boolean {
  const script = `const D = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'better-sqlite3'))});
    const db = new D(process.argv[1], { timeout: 0 });
    try { db.exec('BEGIN IMMEDIATE'); db.exec('ROLLBACK'); process.stdout.write('free'); } catch { process.stdout.write('busy'); }`;
  const result = spawnSync(process.execPath, ['-e', script, file], { encoding: 'utf8' });
  assert.match(result.stdout, /^(free|busy)$/, result.stderr);
  return result.stdout === 'free';
}

describe('what runs beside a backup in the same process', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it("never drops the write lock a backup holds (closing a descriptor drops this process's locks)", async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', tmp);
    const database = path.join(env, 'db', 'trac.db');
    const backup = (await hotcopy(env, path.join(tmp, 'backup'))).dest;
    const snapshotter = DatabaseSnapshotter.open(database);
    try {
      await snapshotter.lock();
      assert.equal(writableFromAnotherProcess(database), false, 'locked');
      assert.equal((await environmentChangedSince(env, backup)).changed, false);
      let inspected = false;
      const inspecting = inspectSource(env, false).then(() => (inspected = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(inspected, false, 'reading the database header waits for the lock to go');
      assert.equal(writableFromAnotherProcess(database), false, 'still locked');
      snapshotter.unlock();
      await inspecting;
    } finally {
      snapshotter.close();
    }
    assert.equal(writableFromAnotherProcess(database), true);
  });
});
