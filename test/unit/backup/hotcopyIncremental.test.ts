import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findAttachmentMismatches } from '../../../src/core/trac/attachments';
import { HotcopyResult, hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest } from '../../../src/core/catalog/manifest';
import { removeTree } from '../../../src/core/fs/fileTree';
import { restore } from '../../../src/core/restore/restore';
import { inspectDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { addAttachment, filesNotMatchingManifest, inodes } from '../../support/incremental';
import { compareTrees } from '../../support/treeCompare';
import { startWriter } from '../../support/writerProcess';

const DATABASE = 'db/trac.db';
const notCopied = (relative: string) => relative === DATABASE || relative.startsWith(`${DATABASE}-`) || relative === MANIFEST_FILE;

describe('incremental hotcopy (linkDest)', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('links every file of an unchanged environment but the database, and records it', async () => {
    const area = path.join(tmp, 'unchanged');
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    const first = await hotcopy(env, path.join(area, 'backups', 'b1'));
    const second = await hotcopy(env, path.join(area, 'backups', 'b2'), { linkDest: first.dest });

    const [one, two] = [await inodes(first.dest), await inodes(second.dest)];
    for (const [relative, file] of two) {
      if (relative === DATABASE) {
        assert.notEqual(file.ino, one.get(relative)?.ino, 'the database is a fresh snapshot');
        assert.equal(file.nlink, 1);
      } else {
        assert.equal(file.ino, one.get(relative)?.ino, `${relative} is the first backup's file`);
        assert.equal(file.nlink, 2, relative);
      }
    }
    assert.equal(first.incremental, false);
    assert.equal(first.copiedFiles, first.files);
    assert.deepEqual(
      [second.incremental, second.linkDest, second.linkedFiles, second.copiedFiles, second.linkFallback],
      [true, first.dest, second.files - 1, 1, undefined],
    );
    const dbSize = (await fs.stat(path.join(second.dest, DATABASE))).size;
    assert.equal(second.copiedBytes, dbSize);
    assert.equal(second.linkedBytes, second.bytes - dbSize);
    const manifest = await readManifest(second.dest);
    assert.deepEqual(
      [
        manifest?.incremental,
        manifest?.linkDest,
        manifest?.linkedFiles,
        manifest?.linkedBytes,
        manifest?.copiedFiles,
        manifest?.copiedBytes,
      ],
      [true, first.dest, second.linkedFiles, second.linkedBytes, 1, dbSize],
    );
    assert.deepEqual(await filesNotMatchingManifest(second.dest, manifest!), []);
    assert.deepEqual(await compareTrees(env, second.dest, notCopied, { ignoreWriteBits: true }), []);
    assert.equal(inspectDatabase(path.join(second.dest, DATABASE)).integrity, 'ok');
  });

  it('after one attachment is added, copies only it and the database', async () => {
    const area = path.join(tmp, 'one-more');
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    const first = await hotcopy(env, path.join(area, 'backups', 'b1'));
    const added = await addAttachment(env, '7', 'new-screenshot.png', 'a new attachment, never seen by the first backup');

    const second = await hotcopy(env, path.join(area, 'backups', 'b2'), { linkDest: first.dest });

    const two = await inodes(second.dest);
    const copied = [...two]
      .filter(([, file]) => file.nlink === 1)
      .map(([relative]) => relative)
      .sort();
    assert.deepEqual(copied, [DATABASE, added].sort());
    assert.equal(second.copiedFiles, 2);
    assert.equal(second.linkedFiles, first.files - 1);
    assert.equal(inspectDatabase(path.join(second.dest, DATABASE)).attachments, 41);
    const mismatches = await findAttachmentMismatches(second.dest, path.join(second.dest, DATABASE));
    assert.deepEqual([mismatches.missingFiles, mismatches.unlistedFiles], [[], []]);
  });

  it('copies a file whose time or mode changed, leaving the earlier backup as it was', async () => {
    const area = path.join(tmp, 'touched');
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    const first = await hotcopy(env, path.join(area, 'backups', 'b1'));
    const touched = path.join(env, 'conf', 'trac.ini');
    await fs.utimes(touched, new Date(), new Date('2030-01-01T00:00:00Z'));
    await fs.chmod(path.join(env, 'README'), 0o755);

    const second = await hotcopy(env, path.join(area, 'backups', 'b2'), { linkDest: first.dest });

    const [one, two] = [await inodes(first.dest), await inodes(second.dest)];
    for (const relative of ['conf/trac.ini', 'README']) {
      assert.notEqual(two.get(relative)?.ino, one.get(relative)?.ino, `${relative} is copied`);
    }
    assert.equal(one.get('README')?.mode, 0o444, 'the first backup keeps its mode');
    assert.equal(two.get('README')?.mode, 0o555, 'exec bits are kept, write bits dropped');
    assert.equal(second.copiedFiles, 3);
    const entry = (await readManifest(second.dest))?.entries.find((item) => item.path === 'README');
    assert.equal(entry?.type === 'file' && entry.mode, 0o755, "the metadata has the source's mode");
  });

  it('makes every file read-only, in full and incremental backups alike; folders keep their modes', async () => {
    const area = path.join(tmp, 'read-only');
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    await fs.chmod(path.join(env, 'htdocs'), 0o750);
    const first = await hotcopy(env, path.join(area, 'backups', 'b1'));
    await addAttachment(env, '3', 'notes.txt', 'notes');
    const second = await hotcopy(env, path.join(area, 'backups', 'b2'), { linkDest: first.dest });

    for (const result of [first, second]) {
      for (const [relative, file] of await inodes(result.dest)) {
        if (relative !== MANIFEST_FILE) {
          assert.equal(file.mode & 0o222, 0, `${relative} in ${path.basename(result.dest)} has no write bit`);
        }
      }
      assert.equal((await fs.stat(path.join(result.dest, 'htdocs'))).mode & 0o777, 0o750);
      assert.equal((await readManifest(result.dest))?.filesReadOnly, true);
    }
  });

  it('deleting the first backup leaves the second whole, checkable and restorable', async () => {
    const area = path.join(tmp, 'delete-first');
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    const first = await hotcopy(env, path.join(area, 'backups', 'b1'));
    await addAttachment(env, '12', 'later.txt', 'added between the backups');
    const second = await hotcopy(env, path.join(area, 'backups', 'b2'), { linkDest: first.dest });

    await removeTree(first.dest);

    const manifest = await readManifest(second.dest);
    assert.ok(manifest);
    assert.deepEqual(await filesNotMatchingManifest(second.dest, manifest), []);
    assert.equal(inspectDatabase(path.join(second.dest, DATABASE)).integrity, 'ok');
    assert.deepEqual(await compareTrees(env, second.dest, notCopied, { ignoreWriteBits: true }), []);
    const restored = path.join(area, 'restored');
    await restore(second.dest, restored);
    assert.deepEqual(await compareTrees(env, restored, notCopied, { ignoreWriteBits: true }), []);
    const database = inspectDatabase(path.join(restored, DATABASE));
    assert.deepEqual([database.integrity, database.tickets, database.attachments], ['ok', 60, 41]);
  });

  it('keeps attachments and rows in agreement while Trac writes, backup after backup', async () => {
    const area = path.join(tmp, 'under-writer');
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    const writer = await startWriter({ environment: env, database: path.join(env, DATABASE), pauseMs: 1 });
    const results: HotcopyResult[] = [];
    try {
      for (let round = 0; round < 4; round++) {
        results.push(await hotcopy(env, path.join(area, 'backups', `round-${round}`), { linkDest: results.at(-1)?.dest }));
      }
    } finally {
      const summary = await writer.stop();
      assert.ok(summary.attachmentsAdded > 0 && summary.attachmentsDeleted > 0, 'the writer was busy');
    }
    for (const result of results) {
      const database = path.join(result.dest, DATABASE);
      assert.equal(inspectDatabase(database).integrity, 'ok');
      const mismatches = await findAttachmentMismatches(result.dest, database);
      assert.deepEqual([mismatches.missingFiles, mismatches.unlistedFiles], [[], []], result.dest);
      assert.deepEqual(await filesNotMatchingManifest(result.dest, (await readManifest(result.dest))!), [], result.dest);
    }
    assert.ok(results.slice(1).every((result) => result.linkedFiles > 0));
  });

  it('refuses a linkDest that is not a backup of the same environment, naming it', async () => {
    const area = path.join(tmp, 'refusals');
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    const other = await copyFixture('trac-1.6-fresh', 'other', area);
    const otherBackup = await hotcopy(other, path.join(area, 'backups', 'other-1'));
    const dest = path.join(area, 'backups', 'env-1');
    const cases: Array<[string, RegExp]> = [
      [otherBackup.dest, /is a backup of .*other, not of .*env: link from a backup of the same environment/],
      [dest, /is the destination itself/],
      [path.join(area, 'nowhere'), /does not exist/],
      [env, /has no trac-backup metadata/],
      [path.join(env, 'VERSION'), /is not a folder/],
    ];
    for (const [linkDest, message] of cases) {
      await assert.rejects(hotcopy(env, dest, { linkDest }), (error: Error & { code?: string; path?: string }) => {
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.match(error.message, message);
        assert.ok(error.message.includes(linkDest), error.message);
        return true;
      });
    }
    assert.deepEqual(await fs.readdir(path.join(area, 'backups')), ['other-1'], 'nothing was created');
  });
});
