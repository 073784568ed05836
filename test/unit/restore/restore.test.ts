import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest } from '../../../src/core/catalog/manifest';
import { restore } from '../../../src/core/restore/restore';
import { fileStamp as restoreStamp } from '../../../src/core/shared/format';
import { inspectDatabase, openTracDatabase } from '../../support/database';
import { refusal } from '../../support/refusal';
import { FIXTURES_DIR, copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { besideEnvironment, corruptPageInMiddle, expectedRestore, makeRestoreCase } from '../../support/restoreCase';
import { compareTrees, fingerprintTree } from '../../support/treeCompare';

describe('restore', () => {
  let tmp: string;
  let area = 0;
  const newArea = () => path.join(tmp, `case-${++area}`);
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('makes the folders initenv makes that a backup lacks (git and some archivers keep no empty folder), and says which', async () => {
    // The fixture as stored in git: initenv's empty htdocs/ and plugins/ are not there.
    const plain = path.join(newArea(), 'git-checkout');
    await fs.cp(path.join(FIXTURES_DIR, 'trac-1.6-fresh'), plain, { recursive: true, preserveTimestamps: true });
    await fs.rm(path.join(plain, 'log'), { recursive: true });
    const env = path.join(newArea(), 'restored');

    const result = await restore(plain, env);

    assert.deepEqual(result.madeFolders, ['htdocs', 'log', 'plugins']);
    for (const folder of ['htdocs', 'log', 'plugins']) {
      const stats = await fs.stat(path.join(env, folder));
      assert.ok(stats.isDirectory(), folder);
      assert.equal(stats.mode & 0o777, 0o755, folder);
      assert.deepEqual(await fs.readdir(path.join(env, folder)), [], folder);
    }
    const whole = await restore((await hotcopy(env, path.join(newArea(), 'backup'))).dest, path.join(newArea(), 'again'));
    assert.deepEqual(whole.madeFolders, [], 'a backup that has them all got folders made');
  });

  it('restores into a missing path, making its parents, equal to the backup file for file, with the modes it had', async () => {
    const { backup, restored } = await makeRestoreCase(newArea());
    const env = path.join(newArea(), 'deeper', 'restored');
    const phases: string[] = [];

    const result = await restore(backup, env, { onProgress: (event) => phases.push(event.phase) });

    assert.equal(result.env, env);
    assert.equal(result.aside, null);
    assert.deepEqual(await fingerprintTree(env), restored);
    await assert.rejects(fs.access(path.join(env, MANIFEST_FILE)), { code: 'ENOENT' });
    assert.equal((await fs.stat(path.join(backup, 'db', 'trac.db'))).mode & 0o777, 0o444, 'the backup keeps its files read-only');
    assert.equal((await fs.stat(path.join(env, 'db', 'trac.db'))).mode & 0o777, 0o644, 'the restored database is writable again');
    const manifest = await readManifest(backup);
    assert.equal(result.files, manifest?.fileCount);
    assert.equal(result.bytes, manifest?.bytes);
    assert.ok(result.durationMs > 0);
    assert.deepEqual(result.leftovers, []);
    assert.deepEqual([...new Set(phases)], ['check', 'recover', 'copy', 'verify', 'swap']);
    const database = inspectDatabase(path.join(env, 'db', 'trac.db'));
    assert.equal(database.integrity, 'ok');
    assert.equal(database.tickets, 60);
    assert.deepEqual(await fs.readdir(path.dirname(env)), ['restored'], 'no temporary folder or journal is left');
  });

  it('replaces an existing environment, keeping it aside whole', async () => {
    const { backup, env, old, restored } = await makeRestoreCase(newArea());
    const now = new Date(2024, 0, 2, 3, 4, 5);
    const backupBefore = await fingerprintTree(backup);

    const result = await restore(backup, env, { replace: true, now });

    assert.equal(result.aside, `${env}.before-restore-20240102-030405`);
    assert.deepEqual(await fingerprintTree(env), restored);
    assert.deepEqual(await fingerprintTree(result.aside), old, 'the aside copy is the old environment');
    assert.deepEqual(await fingerprintTree(backup), backupBefore, 'the backup is not changed');
    assert.deepEqual(await besideEnvironment(env), { asides: ['env.before-restore-20240102-030405'], work: [] });
    assert.equal(inspectDatabase(path.join(env, 'db', 'trac.db')).tickets, 60);

    const again = await restore(backup, env, { replace: true, now });

    assert.equal(again.aside, `${env}.before-restore-20240102-030405-2`, 'an aside name already taken is never reused');
    assert.deepEqual(await fingerprintTree(result.aside), old);
  });

  it('refuses an existing environment without replace, saying it exists, and changes nothing', async () => {
    const { backup, env, old } = await makeRestoreCase(newArea());

    await assert.rejects(restore(backup, env), refusal('TARGET_EXISTS', env, 'already exists', '--yes'));

    assert.deepEqual(await fingerprintTree(env), old);
    assert.deepEqual(await besideEnvironment(env), { asides: [], work: [] });
  });

  it('restores a plain copy made like trac-admin hotcopy (no metadata)', async () => {
    const root = newArea();
    const source = await copyFixture('trac-1.6-populated', 'source', root);
    const plain = path.join(root, 'plain-hotcopy');
    execFileSync('cp', ['-a', source, plain]);
    await fs.symlink('../conf/trac.ini', path.join(plain, 'htdocs', 'config-link'));
    const env = await copyFixture('trac-1.6-fresh', 'env', root);

    const result = await restore(plain, env, { replace: true });

    assert.deepEqual(await compareTrees(plain, env), []);
    assert.equal(await fs.readlink(path.join(env, 'htdocs', 'config-link')), '../conf/trac.ini', 'links stay links');
    assert.ok(result.aside);
    assert.equal(inspectDatabase(path.join(env, 'db', 'trac.db')).tickets, 60);
  });

  describe('refuses a damaged backup, naming what is wrong, and changes nothing', () => {
    const damages: Array<[string, (backup: string) => void | Promise<void>, string]> = [
      ['a corrupted database page', (backup) => void corruptPageInMiddle(path.join(backup, 'db', 'trac.db')), 'db/trac.db'],
      [
        'a changed attachment byte',
        async (backup) => {
          const file = path.join(backup, attachmentRelativePath('ticket', '30', 'log-1.bin'));
          const bytes = await fs.readFile(file);
          bytes[0] ^= 0xff;
          await fs.writeFile(file, bytes);
        },
        attachmentRelativePath('ticket', '30', 'log-1.bin'),
      ],
      ['a missing conf/trac.ini', (backup) => fs.rm(path.join(backup, 'conf', 'trac.ini')), 'conf/trac.ini'],
    ];
    for (const [name, damage, named] of damages) {
      it(name, async () => {
        const { backup, env, old } = await makeRestoreCase(newArea());
        await damage(backup);

        await assert.rejects(restore(backup, env, { replace: true }), refusal('BACKUP_DAMAGED', backup, named, 'nothing was restored'));
        await assert.rejects(restore(backup, path.join(path.dirname(env), 'new')), refusal('BACKUP_DAMAGED', named));

        assert.deepEqual(await fingerprintTree(env), old);
        assert.deepEqual((await fs.readdir(path.dirname(env))).sort(), ['backups', 'env']);
      });
    }

    it('a corrupted database page in a copy without metadata', async () => {
      const root = newArea();
      const plain = await copyFixture('trac-1.6-populated', 'plain', root);
      corruptPageInMiddle(path.join(plain, 'db', 'trac.db'));
      await assert.rejects(restore(plain, path.join(root, 'env')), refusal('BACKUP_DAMAGED', 'db/trac.db', 'integrity_check'));
      assert.deepEqual(await fs.readdir(root), ['plain']);
    });
  });

  it('restores into an existing empty folder without keeping anything aside', async () => {
    const { backup, restored } = await makeRestoreCase(newArea());
    const env = path.join(newArea(), 'empty');
    await fs.mkdir(env, { recursive: true });

    const result = await restore(backup, env);

    assert.equal(result.aside, null);
    assert.deepEqual(await fingerprintTree(env), restored);
  });

  it('replaces a folder that is not a Trac environment only with force', async () => {
    const { backup } = await makeRestoreCase(newArea());
    const env = path.join(newArea(), 'notes');
    await fs.mkdir(env, { recursive: true });
    await fs.writeFile(path.join(env, 'precious.txt'), 'keep me');

    await assert.rejects(restore(backup, env, { replace: true }), refusal('TARGET_EXISTS', 'not a Trac environment', '--force'));
    const result = await restore(backup, env, { replace: true, force: true });

    assert.equal(await fs.readFile(path.join(result.aside!, 'precious.txt'), 'utf8'), 'keep me');
  });

  it('refuses a symbolic link, a file, and a target inside the backup or holding it', async () => {
    const { backup, env } = await makeRestoreCase(newArea());
    const link = path.join(path.dirname(env), 'link');
    await fs.symlink(env, link);
    await assert.rejects(restore(backup, link, { replace: true }), refusal('INVALID_ARGUMENT', 'symbolic link', env));
    const file = path.join(path.dirname(env), 'file');
    await fs.writeFile(file, 'x');
    await assert.rejects(restore(backup, file, { replace: true }), refusal('INVALID_ARGUMENT', 'is a file'));
    await assert.rejects(restore(backup, path.join(backup, 'inner')), refusal('INVALID_ARGUMENT', 'one holds the other'));
    await assert.rejects(restore(backup, path.dirname(backup), { replace: true }), refusal('INVALID_ARGUMENT', 'one holds the other'));
    await assert.rejects(restore(backup, backup, { replace: true }), refusal('INVALID_ARGUMENT'));
    await assert.rejects(restore(path.join(backup, 'nowhere'), env, { replace: true }), refusal('INVALID_ARGUMENT', 'does not exist'));
  });

  it('restores an external database to its own path, keeping the one there aside with its -wal, and puts trac.ini back', async () => {
    const root = newArea();
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    const outside = path.join(root, 'elsewhere', 'project.db');
    await fs.mkdir(path.dirname(outside));
    await fs.rename(path.join(env, 'db', 'trac.db'), outside);
    const ini = path.join(env, 'conf', 'trac.ini');
    const originalIni = (await fs.readFile(ini, 'utf8')).replace('database = sqlite:db/trac.db', `database = sqlite:${outside}?timeout=20`);
    await fs.writeFile(ini, originalIni);
    await fs.utimes(ini, new Date('2023-04-05T06:07:08.009Z'), new Date('2023-04-05T06:07:08.009Z'));
    const iniBefore = await fs.stat(ini);
    const backup = path.join(root, 'backup');
    await hotcopy(env, backup);
    const snapshot = await fs.readFile(path.join(backup, 'db', 'project.db'));
    await fs.writeFile(path.join(env, 'htdocs', 'after.txt'), 'after the backup');
    // The database there now is in WAL mode with a commit in its -wal file (as a stopped Trac can leave it).
    const live = openTracDatabase(outside);
    live.pragma('journal_mode = WAL');
    live.pragma('wal_autocheckpoint = 0');
    live.prepare("INSERT INTO ticket (summary, status, time, changetime) VALUES ('in the WAL', 'new', 0, 0)").run();
    const wal = await fs.readFile(`${outside}-wal`);
    live.close();
    await fs.writeFile(`${outside}-wal`, wal);
    const oldDb = await fs.readFile(outside);
    const now = new Date(2024, 5, 6, 7, 8, 9);

    const result = await restore(backup, env, { replace: true, now });

    assert.equal(result.database?.file, outside);
    assert.equal(result.database?.aside, `${outside}.before-restore-${restoreStamp(now)}`);
    assert.deepEqual(await fs.readFile(outside), snapshot, 'the database is the backup snapshot');
    assert.deepEqual(await fs.readFile(result.database.aside), oldDb, 'the old database is kept');
    assert.deepEqual(await fs.readFile(`${result.database.aside}-wal`), wal, 'its -wal went aside with it');
    await assert.rejects(fs.access(`${outside}-wal`), { code: 'ENOENT' }, 'no old -wal beside the restored database');
    assert.equal(inspectDatabase(result.database.aside).tickets, 61);
    assert.equal(await fs.readFile(ini, 'utf8'), originalIni, 'trac.ini names the external database again');
    const iniAfter = await fs.stat(ini);
    assert.equal(iniAfter.mtime.toISOString(), iniBefore.mtime.toISOString(), 'with the mtime it had');
    assert.equal(iniAfter.mode, iniBefore.mode);
    await assert.rejects(fs.access(path.join(env, 'db', 'project.db')), { code: 'ENOENT' });
    const expected = await expectedRestore(backup);
    expected.delete('db/project.db');
    expected.delete('conf/trac.ini');
    const actual = await fingerprintTree(env);
    actual.delete('conf/trac.ini');
    assert.deepEqual(actual, expected);
    assert.equal(inspectDatabase(outside).tickets, 60);
    assert.equal(result.files, (await readManifest(backup))?.fileCount);
  });

  it('restores a --no-database backup and warns that the database is not in it', async () => {
    const root = newArea();
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    const backup = path.join(root, 'backup');
    await hotcopy(env, backup, { includeDatabase: false });

    const result = await restore(backup, env, { replace: true });

    assert.match(result.warnings.join(' '), /without its database.*has no database now/);
    await assert.rejects(fs.access(path.join(env, 'db', 'trac.db')), { code: 'ENOENT' });
    await fs.access(path.join(result.aside!, 'db', 'trac.db'));
  });
});
