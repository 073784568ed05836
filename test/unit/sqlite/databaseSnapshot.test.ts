import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatabaseSnapshotter, probeDatabase } from '../../../src/core/sqlite/databaseSnapshot';
import { inspectDatabase, openTracDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { sha256 } from '../../support/treeCompare';

/** True when another connection can start a write transaction right now. */
function writerGetsIn(file: string): boolean {
  const db = openTracDatabase(file);
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return true;
  } catch (error) {
    assert.match(String(error), /locked|busy/i);
    return false;
  } finally {
    db.close();
  }
}

describe('database snapshot', () => {
  let tmp: string;
  let dbFile: string;
  before(async () => {
    tmp = await makeTempDir();
    dbFile = path.join(await copyFixture('trac-1.6-populated', 'env', tmp), 'db', 'trac.db');
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  for (const [way, sizeHint] of [
    ['through memory', 0],
    ['with the backup API (large databases)', Number.MAX_SAFE_INTEGER],
  ] as const) {
    it(`keeps writers out while locked and snapshots ${way}, never writing the source`, async () => {
      const before = await sha256(dbFile);
      const target = path.join(tmp, `snapshot-${sizeHint}.db`);
      const snapshotter = DatabaseSnapshotter.open(dbFile);
      try {
        assert.ok(writerGetsIn(dbFile));
        await snapshotter.lock();
        assert.equal(writerGetsIn(dbFile), false, 'a writer waits while the lock is held');
        const write = await snapshotter.snapshot(target, sizeHint);
        const heldMs = snapshotter.unlock();
        assert.ok(heldMs > 0);
        assert.ok(writerGetsIn(dbFile), 'a writer gets in once it is released');
        await write();
      } finally {
        snapshotter.close();
      }
      const copy = inspectDatabase(target);
      assert.equal(copy.integrity, 'ok');
      assert.equal(copy.tickets, 60);
      assert.equal(await sha256(dbFile), before);
      assert.deepEqual((await fs.readdir(path.dirname(dbFile))).sort(), ['trac.db']);
    });
  }

  it('waits for a running writer without freezing the process, and backups in one process take turns', async () => {
    const other = openTracDatabase(dbFile);
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => other.exec('ROLLBACK'), 300);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const first = DatabaseSnapshotter.open(dbFile);
    const second = DatabaseSnapshotter.open(dbFile);
    try {
      const started = performance.now();
      await first.lock();
      assert.ok(performance.now() - started >= 250, 'it waited for the other writer');
      assert.ok(ticks >= 10, `the event loop kept running while it waited (${ticks} ticks)`);
      let secondLocked = false;
      const secondLock = second.lock().then(() => (secondLocked = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(secondLocked, false, 'the second waits for the first');
      first.unlock();
      await secondLock;
      second.unlock();
    } finally {
      clearInterval(ticker);
      first.close();
      second.close();
      other.close();
    }
  });

  it('refuses a file that is not SQLite before reading it, and reads the version of one that is', async () => {
    const bogus = path.join(tmp, 'bogus.db');
    await fs.writeFile(bogus, 'SQLite format 2, or rather not at all');
    await assert.rejects(probeDatabase(bogus, true), { code: 'DATABASE_UNREADABLE' });
    assert.deepEqual(await probeDatabase(dbFile, true), { version: '45' });
    assert.deepEqual(await probeDatabase(dbFile, false), {});
  });
});
