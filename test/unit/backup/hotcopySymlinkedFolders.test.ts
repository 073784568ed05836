import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findAttachmentMismatches } from '../../../src/core/trac/attachments';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest } from '../../../src/core/catalog/manifest';
import { restore } from '../../../src/core/restore/restore';
import { verifyBackup } from '../../../src/core/verify/verify';
import { inspectDatabase, openTracDatabase } from '../../support/database';
import { refusal } from '../../support/refusal';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { mountTmpfs, unmountTmpfs } from '../../support/tmpfs';
import { fingerprintTree, sha256 } from '../../support/treeCompare';

/** Above this, hotcopy snapshots through SQLite's backup API rather than through memory (databaseSnapshot.ts). */
const IN_MEMORY_SNAPSHOT_BYTES = 256 * 1024 * 1024;
const MB = 1024 * 1024;

/** Moves `relative` of the environment to `disk` and leaves a symbolic link to it in its place. */
async function moveToOtherDisk(env: string, relative: string, disk: string, as: string): Promise<string> {
  const moved = path.join(disk, as);
  await fs.cp(path.join(env, relative), moved, { recursive: true, preserveTimestamps: true });
  await fs.rm(path.join(env, relative), { recursive: true });
  await fs.symlink(moved, path.join(env, relative));
  return moved;
}

/** What a file is, to prove it was not written: content, mode, size, modification time, inode. */
async function identity(file: string): Promise<string> {
  const stats = await fs.stat(file);
  return `${await sha256(file)} ${(stats.mode & 0o7777).toString(8)} ${stats.size} ${stats.mtimeMs} ${stats.ino}`;
}

async function isRealFolder(dir: string): Promise<boolean> {
  return (await fs.lstat(dir)).isDirectory();
}

describe('hotcopy of an environment whose db/, files/ or conf/ is a link to another disk', () => {
  let tmp: string;
  /** Where the environments and backups are. */
  let main: string;
  /** The other disk the links point to. */
  let other: string;
  before(async () => {
    tmp = await makeTempDir();
    main = await mountTmpfs(path.join(tmp, 'main'), 1200 * MB);
    other = await mountTmpfs(path.join(tmp, 'other'), 600 * MB);
  });
  after(async () => {
    unmountTmpfs(path.join(tmp, 'main'));
    unmountTmpfs(path.join(tmp, 'other'));
    await removeTempDir(tmp);
  });

  // Both ways a snapshot is taken: serialized in memory, and (above 256 MB) SQLite's backup API
  // writing straight to the target path, which once wrote through the link onto the live database.
  for (const [label, extraBytes] of [
    ['a small database, snapshot through memory', 0],
    ['a database over 256 MB, snapshot through the backup API', IN_MEMORY_SNAPSHOT_BYTES + MB],
  ] as const) {
    it(`backs up ${label} into a real db/ folder and never writes the live trac.db`, async () => {
      const name = extraBytes ? 'big' : 'small';
      const env = await copyFixture('trac-1.6-populated', `env-${name}`, main);
      if (extraBytes) {
        const db = openTracDatabase(path.join(env, 'db', 'trac.db'));
        db.exec(`CREATE TABLE padding (data BLOB); INSERT INTO padding VALUES (zeroblob(${extraBytes}));`);
        db.close();
      }
      const liveDb = path.join(await moveToOtherDisk(env, 'db', other, `db-${name}`), 'trac.db');
      assert.ok((await fs.stat(liveDb)).size > (extraBytes || 0), 'the database has the size the case needs');
      await fs.chmod(liveDb, 0o640);
      const before = await identity(liveDb);
      const otherBefore = await fingerprintTree(path.dirname(liveDb));

      const dest = path.join(main, 'backups', name);
      const result = await hotcopy(env, dest);

      assert.equal(await identity(liveDb), before, 'the live database was written (content, mode or inode changed)');
      assert.deepEqual(await fingerprintTree(path.dirname(liveDb)), otherBefore, 'something was written on the other disk');
      assert.ok(await isRealFolder(path.join(dest, 'db')), 'db/ in the backup is still a link');
      assert.equal(result.databaseIncluded, true);
      const backupDb = path.join(dest, 'db', 'trac.db');
      assert.deepEqual(inspectDatabase(backupDb), inspectDatabase(liveDb), 'the snapshot is not the database');
      assert.ok((await fs.stat(backupDb)).size >= (await fs.stat(liveDb)).size - 4096);
      assert.equal((await fs.stat(backupDb)).mode & 0o7777, 0o440, 'the snapshot keeps the source mode, read-only');
      const manifest = await readManifest(dest);
      assert.equal(manifest?.entries.find((entry) => entry.path === 'db')?.type, 'directory');
      assert.equal(manifest?.entries.find((entry) => entry.path === 'db/trac.db')?.type, 'file');

      const verified = await verifyBackup(dest);
      assert.equal(verified.ok, true, JSON.stringify(verified.problems));
      const restored = await restore(dest, path.join(main, 'restored', name));
      assert.equal(inspectDatabase(path.join(restored.env, 'db', 'trac.db')).tickets, 60);
      assert.equal(inspectDatabase(path.join(restored.env, 'db', 'trac.db')).integrity, 'ok');
      assert.equal((await fs.stat(path.join(restored.env, 'db', 'trac.db'))).mode & 0o7777, 0o640);
      assert.equal(await identity(liveDb), before, 'the restore wrote the live database');
      await fs.rm(path.join(main, 'restored'), { recursive: true, force: true });
      await fs.rm(path.join(main, 'backups'), { recursive: true, force: true });
      await fs.rm(path.dirname(liveDb), { recursive: true, force: true });
      await fs.rm(env, { recursive: true, force: true });
    });
  }

  it('backs up the files of a files/ link, which a restore brings back once that disk is gone', async () => {
    const disk = await mountTmpfs(path.join(tmp, 'attachments-disk'), 64 * MB);
    try {
      const env = await copyFixture('trac-1.6-populated', 'env-files', main);
      // A file no attachment row accounts for: checked again under the lock, where it must stay too.
      await fs.writeFile(path.join(env, 'files', 'attachments', 'ticket', 'stray.txt'), 'no row for me');
      const linked = await moveToOtherDisk(env, 'files', disk, 'files');
      const onDisk = await fingerprintTree(linked);

      const dest = path.join(main, 'backups-files', 'b1');
      const result = await hotcopy(env, dest);
      assert.ok(await isRealFolder(path.join(dest, 'files')), 'files/ in the backup is a link');
      assert.deepEqual(
        await fingerprintTree(path.join(dest, 'files')),
        withoutWriteBits(onDisk),
        'the backup does not hold the attachments',
      );
      assert.deepEqual(await fingerprintTree(linked), onDisk, 'the attachments were written');
      const verified = await verifyBackup(dest);
      assert.equal(verified.ok, true, JSON.stringify(verified.problems));
      const mismatches = await findAttachmentMismatches(dest, path.join(dest, 'db', 'trac.db'));
      assert.deepEqual([mismatches.rows, mismatches.missingFiles], [40, []]);

      // An incremental backup links what did not change, through the same folders.
      const second = await hotcopy(env, path.join(main, 'backups-files', 'b2'), { linkDest: dest });
      assert.ok(second.linkedFiles >= 41, `only ${second.linkedFiles} files linked`);
      assert.equal(second.files, result.files);

      unmountTmpfs(disk); // the other disk is gone: env/files points nowhere
      await assert.rejects(fs.stat(path.join(env, 'files')), { code: 'ENOENT' });
      const restored = await restore(dest, path.join(main, 'restored-files'));
      const after = await findAttachmentMismatches(restored.env, path.join(restored.env, 'db', 'trac.db'));
      assert.deepEqual([after.rows, after.missingFiles, after.unlistedFiles], [40, [], ['files/attachments/ticket/stray.txt']]);
    } finally {
      unmountTmpfs(disk);
    }
  });

  it('follows conf/ and files/attachments links too, and keeps every other link a link', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env-conf', main);
    const conf = await moveToOtherDisk(env, 'conf', other, 'conf');
    const attachments = await moveToOtherDisk(env, path.join('files', 'attachments'), other, 'attachments');
    await fs.symlink(path.join(other, 'attachments'), path.join(env, 'htdocs', 'shared'));
    const confBefore = await fingerprintTree(conf);
    const attachmentsBefore = await fingerprintTree(attachments);

    const dest = path.join(main, 'backups-conf', 'b1');
    await hotcopy(env, dest);
    assert.ok(await isRealFolder(path.join(dest, 'conf')));
    assert.ok(await isRealFolder(path.join(dest, 'files', 'attachments')));
    assert.equal(await fs.readlink(path.join(dest, 'htdocs', 'shared')), path.join(other, 'attachments'), 'another link was followed');
    assert.deepEqual(await fingerprintTree(path.join(dest, 'conf')), withoutWriteBits(confBefore));
    assert.deepEqual(await fingerprintTree(conf), confBefore, 'the live conf/ was written');
    assert.deepEqual(await fingerprintTree(attachments), attachmentsBefore, 'the live attachments were written');
    const verified = await verifyBackup(dest);
    assert.equal(verified.ok, true, JSON.stringify(verified.problems));
    const mismatches = await findAttachmentMismatches(dest, path.join(dest, 'db', 'trac.db'));
    assert.deepEqual([mismatches.rows, mismatches.missingFiles], [40, []]);
  });

  it('refuses a destination inside the folder a files/ link leads to (it would copy itself)', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env-into-link', main);
    const linked = await moveToOtherDisk(env, 'files', other, 'files-into-link');
    const before = await fingerprintTree(linked);
    const dest = path.join(linked, 'backups', 'b1');
    await assert.rejects(hotcopy(env, dest), refusal('DESTINATION_INSIDE_SOURCE', dest, linked));
    assert.deepEqual(await fingerprintTree(linked), before, 'something was written into the linked folder');
  });

  it('refuses, with a clear error, to write a snapshot where the backup holds a link', async () => {
    // An external database is stored at db/<name> in the backup; here the environment's db is a
    // link to a file, which is copied as a link: the snapshot would be written through it.
    const env = await copyFixture('trac-1.6-populated', 'env-external', main);
    const external = path.join(other, 'external', 'trac.db');
    await fs.mkdir(path.dirname(external));
    await fs.copyFile(path.join(env, 'db', 'trac.db'), external);
    await fs.rm(path.join(env, 'db'), { recursive: true });
    const decoy = path.join(other, 'external', 'notes.txt');
    await fs.writeFile(decoy, 'not a folder');
    await fs.symlink(decoy, path.join(env, 'db'));
    const ini = path.join(env, 'conf', 'trac.ini');
    await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('database = sqlite:db/trac.db', `database = sqlite:${external}`));
    const before = await fingerprintTree(path.join(other, 'external'));

    const parent = path.join(main, 'backups-external');
    await assert.rejects(
      hotcopy(env, path.join(parent, 'b1')),
      refusal('DESTINATION_UNWRITABLE', path.join(env, 'db'), 'a link', 'never writes through a link'),
    );
    assert.deepEqual(await fingerprintTree(path.join(other, 'external')), before, 'something was written through the link');
    assert.deepEqual(await fs.readdir(parent).catch(() => []), [], 'the partial backup was left');
  });
});

/** A fingerprint as a backup has it: files without their write bits. */
function withoutWriteBits(fingerprint: Map<string, string>): Map<string, string> {
  return new Map(
    [...fingerprint].map(([relative, value]) => {
      const [hash, mode, ...rest] = value.split(' ');
      return [relative, /^[0-9a-f]{64}$/.test(hash) ? [hash, (parseInt(mode, 8) & ~0o222).toString(8), ...rest].join(' ') : value];
    }),
  );
}
