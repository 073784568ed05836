import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readEnvironment } from '../../../src/core/trac/environment';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest } from '../../../src/core/catalog/manifest';
import { openReadOnly } from '../../../src/core/sqlite/sqlite';
import { inspectDatabase, openTracDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { compareTrees, fingerprintTree, sha256 } from '../../support/treeCompare';

const SIDE_FILES = ['db/trac.db-journal', 'db/trac.db-wal', 'db/trac.db-shm', 'db/trac.db-stmtjrnl'];
const isSideFile = (relative: string) => SIDE_FILES.includes(relative);

describe('hotcopy', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('copies an environment file for file, keeping modes, mtimes and links, without the journal files', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', path.join(tmp, 'copy'));
    await fs.symlink('../conf/trac.ini', path.join(env, 'htdocs', 'config-link'));
    await fs.symlink('does-not-exist', path.join(env, 'htdocs', 'dangling-link'));
    await fs.chmod(path.join(env, 'plugins', 'hello_plugin.py'), 0o750);
    await fs.chmod(path.join(env, 'README'), 0o600);
    await fs.mkdir(path.join(env, 'empty', 'nested'), { recursive: true });
    await fs.mkdir(path.join(env, 'read-only'), { recursive: true });
    await fs.writeFile(path.join(env, 'read-only', 'notes.txt'), 'kept as is');
    await fs.chmod(path.join(env, 'read-only'), 0o555);
    await fs.utimes(path.join(env, 'VERSION'), new Date('2020-02-02T02:02:02.345Z'), new Date('2020-02-02T02:02:02.345Z'));
    await fs.writeFile(path.join(env, 'db', 'trac.db-shm'), 'not ours');
    await fs.writeFile(path.join(env, 'db', 'trac.db-stmtjrnl'), 'not ours');
    const before = await fingerprintTree(env, isSideFile);
    const dest = path.join(tmp, 'copy', 'backups', 'deeper', 'env-1');

    const result = await hotcopy(env, dest);

    assert.equal(result.dest, dest);
    const notCopied = (relative: string) => relative === 'db/trac.db' || isSideFile(relative) || relative === MANIFEST_FILE;
    assert.deepEqual(await compareTrees(env, dest, notCopied, { ignoreWriteBits: true }), []);
    for (const side of SIDE_FILES) {
      await assert.rejects(fs.lstat(path.join(dest, side)), { code: 'ENOENT' }, `${side} must not be copied`);
    }
    assert.equal(await fs.readlink(path.join(dest, 'htdocs', 'dangling-link')), 'does-not-exist');
    assert.equal((await fs.stat(path.join(dest, 'VERSION'))).mtime.toISOString(), '2020-02-02T02:02:02.345Z');
    assert.equal((await fs.stat(path.join(dest, 'read-only'))).mode & 0o777, 0o555);
    const database = inspectDatabase(path.join(dest, 'db', 'trac.db'));
    assert.equal(database.integrity, 'ok');
    assert.equal(database.tickets, 60);
    assert.equal(database.attachments, 40);
    assert.deepEqual(await fingerprintTree(env, isSideFile), before, 'the source must not change');
    const siblings = await fs.readdir(path.dirname(dest));
    assert.deepEqual(siblings, ['env-1'], 'no temporary folder is left');
    assert.ok(result.lockMs >= 0 && result.lockMs < result.durationMs);
  });

  it('writes metadata whose checksums, sizes and modes match the backup', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', path.join(tmp, 'meta'));
    const dest = path.join(tmp, 'meta', 'backup');
    const started = Date.now();

    const result = await hotcopy(env, dest);

    const manifest = await readManifest(dest);
    assert.ok(manifest);
    assert.equal(manifest.format, 1);
    assert.equal(manifest.tool.name, 'trac-backup');
    assert.match(manifest.tool.version, /^\d+\.\d+\.\d+/);
    assert.equal(manifest.source.path, env);
    assert.equal(manifest.source.projectName, 'Populated Project');
    assert.ok(Date.parse(manifest.createdAt) >= started - 1000 && Date.parse(manifest.createdAt) <= Date.now());
    assert.deepEqual(
      { ...manifest.database },
      {
        kind: 'sqlite',
        url: 'sqlite:db/trac.db',
        file: path.join(env, 'db', 'trac.db'),
        external: false,
        included: true,
        version: '45',
        path: 'db/trac.db',
      },
    );
    assert.equal(manifest.lockMs, result.lockMs);
    assert.ok(manifest.durationMs > 0);
    const files = manifest.entries.filter((entry) => entry.type === 'file');
    assert.equal(manifest.fileCount, files.length);
    assert.equal(result.files, files.length);
    assert.equal(manifest.bytes, result.bytes);
    let bytes = 0;
    for (const entry of files) {
      const file = path.join(dest, entry.path);
      const stats = await fs.stat(file);
      assert.equal(entry.sha256, await sha256(file), entry.path);
      assert.equal(entry.size, stats.size, entry.path);
      assert.equal(
        entry.mode,
        (await fs.stat(path.join(env, entry.path))).mode & 0o7777,
        `${entry.path}: the metadata has the source's mode`,
      );
      assert.equal(stats.mode & 0o7777, entry.mode & ~0o222, `${entry.path}: the backup's file is read-only`);
      assert.equal(Math.floor(entry.mtimeMs), Math.floor(stats.mtimeMs), entry.path);
      bytes += stats.size;
    }
    assert.equal(manifest.bytes, bytes);
    const onDisk = (await fs.readdir(dest, { recursive: true })).map(String).filter((name) => name !== MANIFEST_FILE);
    const listed = new Set(manifest.entries.map((entry) => entry.path.split('/').join(path.sep)));
    assert.deepEqual(
      onDisk.filter((name) => !listed.has(name)),
      [],
      'every file of the backup is in the metadata',
    );
  });

  it('leaves the database out with includeDatabase: false', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', path.join(tmp, 'nodb'));
    const dest = path.join(tmp, 'nodb', 'backup');

    const result = await hotcopy(env, dest, { includeDatabase: false });

    await assert.rejects(fs.lstat(path.join(dest, 'db', 'trac.db')), { code: 'ENOENT' });
    assert.ok((await fs.stat(path.join(dest, 'db'))).isDirectory());
    assert.equal(result.databaseIncluded, false);
    assert.equal(result.lockMs, 0);
    const manifest = await readManifest(dest);
    assert.equal(manifest?.database.included, false);
    assert.equal(manifest?.database.version, '45');
    assert.deepEqual(
      await compareTrees(env, dest, (relative) => relative === 'db/trac.db' || relative === MANIFEST_FILE, { ignoreWriteBits: true }),
      [],
    );
  });

  it('snapshots a database outside the environment into the backup and points its trac.ini at it', async () => {
    const root = path.join(tmp, 'external');
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    const outside = path.join(root, 'elsewhere', 'project.db');
    await fs.mkdir(path.dirname(outside));
    await fs.rename(path.join(env, 'db', 'trac.db'), outside);
    const ini = path.join(env, 'conf', 'trac.ini');
    const original = await fs.readFile(ini, 'utf8');
    await fs.writeFile(ini, original.replace('database = sqlite:db/trac.db', `database = sqlite:${outside}?timeout=20`));
    const outsideHash = await sha256(outside);
    const dest = path.join(root, 'backup');

    const result = await hotcopy(env, dest);

    const manifest = await readManifest(dest);
    assert.equal(manifest?.database.external, true);
    assert.equal(manifest?.database.file, outside);
    assert.equal(manifest?.database.path, 'db/project.db');
    assert.deepEqual(manifest?.database.configRewritten, { file: 'conf/trac.ini', originalUrl: `sqlite:${outside}?timeout=20` });
    const backup = await readEnvironment(dest);
    assert.deepEqual(backup.problems, []);
    assert.equal(backup.database?.kind === 'sqlite' && backup.database.file, path.join(dest, 'db', 'project.db'));
    assert.equal(backup.database?.kind === 'sqlite' && backup.database.external, false);
    assert.equal(backup.database?.kind === 'sqlite' && backup.database.params.timeout, '20');
    const database = inspectDatabase(path.join(dest, 'db', 'project.db'));
    assert.equal(database.integrity, 'ok');
    assert.equal(database.tickets, 60);
    const backupIni = await fs.readFile(path.join(dest, 'conf', 'trac.ini'), 'utf8');
    assert.equal(backupIni, original.replace('database = sqlite:db/trac.db', 'database = sqlite:db/project.db?timeout=20'));
    const iniEntry = manifest?.entries.find((entry) => entry.path === 'conf/trac.ini');
    assert.equal(iniEntry?.type === 'file' && iniEntry.sha256, await sha256(path.join(dest, 'conf', 'trac.ini')));
    assert.equal(await sha256(outside), outsideHash, 'the external database is not written');
    assert.equal(result.databaseVersion, '45');
  });

  it('stores an external database under another name when the environment already has that one', async () => {
    const root = path.join(tmp, 'external-clash');
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    const outside = path.join(root, 'elsewhere', 'trac.db');
    await fs.mkdir(path.dirname(outside));
    await fs.copyFile(path.join(env, 'db', 'trac.db'), outside);
    const ini = path.join(env, 'conf', 'trac.ini');
    await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('database = sqlite:db/trac.db', `database = sqlite:${outside}`));
    const dest = path.join(root, 'backup');

    await hotcopy(env, dest);

    const manifest = await readManifest(dest);
    assert.equal(manifest?.database.path, 'db/external-2-trac.db');
    assert.equal(
      await sha256(path.join(dest, 'db', 'trac.db')),
      await sha256(path.join(env, 'db', 'trac.db')),
      'the unused db/trac.db is copied as a file',
    );
    assert.equal(inspectDatabase(path.join(dest, 'db', 'external-2-trac.db')).tickets, 60);
  });

  it('snapshots a WAL database with a URL query, including commits still in the -wal file', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', path.join(tmp, 'wal'));
    const dbFile = path.join(env, 'db', 'trac.db');
    const ini = path.join(env, 'conf', 'trac.ini');
    await fs.writeFile(
      ini,
      (await fs.readFile(ini, 'utf8')).replace(
        'database = sqlite:db/trac.db',
        'database = sqlite:db/trac.db?journal_mode=WAL&synchronous=NORMAL',
      ),
    );
    const live = openTracDatabase(dbFile);
    try {
      live.pragma('journal_mode = WAL');
      live.pragma('wal_autocheckpoint = 0');
      live.prepare("INSERT INTO ticket (summary, status, time, changetime) VALUES ('only in the WAL', 'new', 0, 0)").run();
      assert.ok((await fs.stat(`${dbFile}-wal`)).size > 0, 'the commit is in the -wal file');
      const dest = path.join(tmp, 'wal', 'backup');

      await hotcopy(env, dest);

      for (const side of SIDE_FILES) {
        await assert.rejects(fs.lstat(path.join(dest, side)), { code: 'ENOENT' }, `${side} must not be in the backup`);
      }
      const database = inspectDatabase(path.join(dest, 'db', 'trac.db'));
      assert.equal(database.integrity, 'ok');
      assert.equal(database.tickets, 61);
      assert.equal(database.journalMode, 'wal');
      assert.ok((await fs.stat(`${dbFile}-wal`)).size > 0, "the source's -wal file is left alone");
      live.prepare("INSERT INTO ticket (summary, status, time, changetime) VALUES ('after the backup', 'new', 0, 0)").run();
    } finally {
      live.close();
    }
    await assert.rejects(fs.lstat(`${dbFile}-wal`), { code: 'ENOENT' }, 'closing the last connection removed the -wal');

    await hotcopy(env, path.join(tmp, 'wal', 'backup-2'));
    assert.equal((await hotcopy(env, path.join(tmp, 'wal', 'backup-3'), { includeDatabase: false })).databaseVersion, '45');

    assert.equal(inspectDatabase(path.join(tmp, 'wal', 'backup-2', 'db', 'trac.db')).tickets, 62);
    for (const side of ['-wal', '-shm']) {
      await assert.rejects(fs.lstat(dbFile + side), { code: 'ENOENT' }, `no ${side} file is left beside the source`);
    }
    const check = openReadOnly(dbFile);
    assert.equal((check.prepare('SELECT count(*) AS n FROM ticket').get() as { n: number }).n, 62);
    check.close();
  });
});
