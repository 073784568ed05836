import * as assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachmentRelativePath, findAttachmentMismatches } from '../../../src/core/trac/attachments';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { HotcopyPhase } from '../../../src/core/backup/backupProgress';
import type { SqliteDatabase } from '../../../src/core/sqlite/sqlite';
import { inspectDatabase, openTracDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

/**
 * Trac-style attachment changes made at chosen moments of a hotcopy (from its progress events,
 * which run synchronously inside it): just before the lock, so that only the work under the
 * lock can catch them, and just after it, so that they must stay out of the backup.
 */
class TracLikeWriter {
  constructor(
    private readonly env: string,
    private readonly db: SqliteDatabase,
  ) {}

  file(realm: string, id: string, filename: string): string {
    return path.join(this.env, ...attachmentRelativePath(realm, id, filename).split('/'));
  }

  add(realm: string, id: string, filename: string, content: string, time = Date.now() * 1000): void {
    this.db.exec('BEGIN IMMEDIATE');
    this.db.prepare("INSERT INTO attachment VALUES (?, ?, ?, ?, ?, 'test', 'test')").run(realm, id, filename, content.length, time);
    mkdirSync(path.dirname(this.file(realm, id, filename)), { recursive: true });
    writeFileSync(this.file(realm, id, filename), content);
    this.db.exec('COMMIT');
  }

  delete(realm: string, id: string, filename: string): void {
    this.db.exec('BEGIN IMMEDIATE');
    this.db.prepare('DELETE FROM attachment WHERE type = ? AND id = ? AND filename = ?').run(realm, id, filename);
    rmSync(this.file(realm, id, filename));
    this.db.exec('COMMIT');
  }

  /** What Trac does when a wiki page is renamed: the row and the file move together. */
  move(realm: string, id: string, filename: string, newId: string): void {
    this.db.exec('BEGIN IMMEDIATE');
    this.db.prepare('UPDATE attachment SET id = ? WHERE type = ? AND id = ? AND filename = ?').run(newId, realm, id, filename);
    mkdirSync(path.dirname(this.file(realm, newId, filename)), { recursive: true });
    renameSync(this.file(realm, id, filename), this.file(realm, newId, filename));
    this.db.exec('COMMIT');
  }
}

describe('hotcopy under the lock', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  for (const incremental of [false, true]) {
    it(`catches attachments added, deleted, replaced, moved or half written just before the lock, and none after it${incremental ? ' (incremental)' : ''}`, async () => {
      const area = path.join(tmp, incremental ? 'incremental' : 'full');
      const env = await copyFixture('trac-1.6-populated', 'env', area);
      const linkDest = incremental ? (await hotcopy(env, path.join(area, 'previous'))).dest : undefined;
      const db = openTracDatabase(path.join(env, 'db', 'trac.db'), { timeoutMs: 10_000 });
      const trac = new TracLikeWriter(env, db);
      const fixtureRows = db.prepare('SELECT type, id, filename FROM attachment ORDER BY rowid LIMIT 4').all() as Array<{
        type: string;
        id: string;
        filename: string;
      }>;
      const [deleted, replaced, moved, deletedAfter] = fixtureRows;
      const halfWritten = { realm: 'ticket', id: '7', filename: 'upload in progress.bin' };
      const done = new Set<HotcopyPhase>();
      const once = (phase: HotcopyPhase, current: HotcopyPhase, action: () => void) => {
        if (phase === current && !done.has(phase)) {
          done.add(phase);
          action();
        }
      };
      let result;
      try {
        result = await hotcopy(env, path.join(area, 'backup'), {
          linkDest,
          onProgress: (event) => {
            once('catch-up', event.phase, () => {
              // A transaction left open across the catch-up pass: its file is copied half written.
              db.exec('BEGIN IMMEDIATE');
              db.prepare("INSERT INTO attachment VALUES (?, ?, ?, 10000, ?, 'test', 'test')").run(
                halfWritten.realm,
                halfWritten.id,
                halfWritten.filename,
                Date.now() * 1000,
              );
              mkdirSync(path.dirname(trac.file(halfWritten.realm, halfWritten.id, halfWritten.filename)), { recursive: true });
              writeFileSync(trac.file(halfWritten.realm, halfWritten.id, halfWritten.filename), 'a'.repeat(5000));
            });
            once('lock', event.phase, () => {
              appendFileSync(trac.file(halfWritten.realm, halfWritten.id, halfWritten.filename), 'b'.repeat(5000));
              db.exec('COMMIT');
              trac.add('ticket', '3', 'added before the lock.txt', 'new attachment');
              trac.delete(deleted.type, deleted.id, deleted.filename);
              trac.delete(replaced.type, replaced.id, replaced.filename);
              trac.add(replaced.type, replaced.id, replaced.filename, 'the replacement');
              trac.move(moved.type, moved.id, moved.filename, 'RenamedPage');
            });
            once('finish', event.phase, () => {
              trac.add('ticket', '4', 'added after the lock.txt', 'too late');
              trac.delete(deletedAfter.type, deletedAfter.id, deletedAfter.filename);
            });
          },
        });
      } finally {
        db.close();
      }
      assert.deepEqual([...done].sort(), ['catch-up', 'finish', 'lock']);

      const backupDb = path.join(result.dest, 'db', 'trac.db');
      const mismatches = await findAttachmentMismatches(result.dest, backupDb);
      assert.deepEqual(mismatches.missingFiles, []);
      assert.deepEqual(mismatches.unlistedFiles, []);
      assert.equal(mismatches.rows, 40 + 1 + 1 - 1);
      const inBackup = (realm: string, id: string, filename: string) =>
        path.join(result.dest, ...attachmentRelativePath(realm, id, filename).split('/'));
      assert.equal(await fs.readFile(inBackup('ticket', '3', 'added before the lock.txt'), 'utf8'), 'new attachment');
      assert.equal(await fs.readFile(inBackup(replaced.type, replaced.id, replaced.filename), 'utf8'), 'the replacement');
      assert.equal(
        await fs.readFile(inBackup(halfWritten.realm, halfWritten.id, halfWritten.filename), 'utf8'),
        'a'.repeat(5000) + 'b'.repeat(5000),
        'the half-written file is copied again, whole',
      );
      await fs.access(inBackup(moved.type, 'RenamedPage', moved.filename));
      await assert.rejects(fs.access(inBackup(moved.type, moved.id, moved.filename)), { code: 'ENOENT' });
      await assert.rejects(fs.access(inBackup(deleted.type, deleted.id, deleted.filename)), { code: 'ENOENT' });
      await assert.rejects(fs.access(inBackup('ticket', '4', 'added after the lock.txt')), { code: 'ENOENT' });
      await fs.access(inBackup(deletedAfter.type, deletedAfter.id, deletedAfter.filename));
      assert.equal(inspectDatabase(backupDb).integrity, 'ok');
      assert.equal(result.incremental, incremental);
      if (incremental) {
        assert.ok(result.linkedFiles > 30, `${result.linkedFiles} files linked`);
      }
    });
  }
});
