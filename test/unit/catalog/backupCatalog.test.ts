import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listBackups, newestBackupFor } from '../../../src/core/catalog/backupCatalog';
import { chooseFreeBackupPath, defaultBackupFolder, newBackupName } from '../../../src/core/catalog/backupNames';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE } from '../../../src/core/catalog/manifest';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

describe('backup catalog', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('puts backups beside the environment, named with the local date and time', () => {
    assert.equal(defaultBackupFolder('/srv/trac/project'), path.resolve('/srv/trac/project-backups'));
    assert.equal(defaultBackupFolder('/srv/trac/project/'), path.resolve('/srv/trac/project-backups'));
    assert.equal(newBackupName('/srv/trac/project', new Date(2024, 0, 2, 3, 4, 5)), 'project-20240102-030405');
    assert.equal(newBackupName('/srv/trac/project', new Date(2024, 11, 31, 23, 59, 58)), 'project-20241231-235958');
  });

  it('chooses a free name rather than an existing one', async () => {
    const folder = path.join(tmp, 'names');
    assert.equal(await chooseFreeBackupPath(folder, 'env-20240102-030405'), path.join(folder, 'env-20240102-030405'));
    await fs.mkdir(path.join(folder, 'env-20240102-030405'), { recursive: true });
    await fs.writeFile(path.join(folder, 'env-20240102-030405-2'), 'a file takes the name too');
    assert.equal(await chooseFreeBackupPath(folder, 'env-20240102-030405'), path.join(folder, 'env-20240102-030405-3'));
  });

  it('lists hotcopies and plain trac-admin copies, newest first, and nothing else', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', path.join(tmp, 'list'));
    const folder = defaultBackupFolder(env);
    await copyFixture('trac-1.6-fresh', 'plain-copy', folder);
    const first = await hotcopy(env, path.join(folder, 'env-20240101-000000'));
    const second = await hotcopy(env, path.join(folder, 'env-20240101-000001'), { includeDatabase: false });
    await fs.mkdir(path.join(folder, '.env-20240101-000002.backup-4242-0badc0de'));
    await fs.mkdir(path.join(folder, 'not-a-backup'));
    await fs.writeFile(path.join(folder, 'notes.txt'), 'hello');

    const backups = await listBackups(folder);

    assert.deepEqual(
      backups.map((backup) => [backup.name, backup.kind]),
      [
        ['env-20240101-000001', 'hotcopy'],
        ['env-20240101-000000', 'hotcopy'],
        ['plain-copy', 'trac-admin'],
      ],
    );
    const [newest, older, plain] = backups;
    assert.equal(newest.createdAt.toISOString(), second.createdAt);
    assert.equal(newest.bytes, second.bytes);
    assert.equal(newest.files, second.files);
    assert.equal(newest.databaseIncluded, false);
    assert.equal(older.projectName, 'Populated Project');
    assert.equal(older.sourcePath, env);
    assert.equal(older.lockMs, first.lockMs);
    assert.equal(older.path, first.dest);
    assert.ok(plain.bytes > 0 && plain.files > 0);
    assert.equal(plain.projectName, 'Fresh Project');
    assert.ok(plain.createdAt.getTime() <= Date.parse(first.createdAt));
  });

  it('lists a backup whose metadata is damaged, with the problem', async () => {
    const folder = path.join(tmp, 'damaged');
    const backup = path.join(folder, 'env-20240101-000000');
    await fs.mkdir(backup, { recursive: true });
    await fs.writeFile(path.join(backup, MANIFEST_FILE), '{ not json');
    const [listed] = await listBackups(folder);
    assert.equal(listed.kind, 'hotcopy');
    assert.match(listed.problem ?? '', /not valid JSON/);
  });

  it('finds the newest readable backup of an environment, and says whether each is incremental', async () => {
    const area = path.join(tmp, 'newest');
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    const other = await copyFixture('trac-1.6-fresh', 'other', area);
    const folder = path.join(area, 'backups');
    assert.equal(await newestBackupFor(folder, env), undefined);
    const first = await hotcopy(env, path.join(folder, 'env-1'));
    const second = await hotcopy(env, path.join(folder, 'env-2'), { linkDest: first.dest });
    await hotcopy(other, path.join(folder, 'other-1'));
    await fs.mkdir(path.join(folder, 'env-3'));
    await fs.writeFile(path.join(folder, 'env-3', MANIFEST_FILE), '{ damaged');

    assert.equal((await newestBackupFor(folder, env))?.path, second.dest);
    assert.equal((await newestBackupFor(folder, path.join(env, '..', 'env')))?.path, second.dest, 'the same folder, written otherwise');
    const listed = new Map((await listBackups(folder)).map((backup) => [backup.name, backup]));
    assert.deepEqual(
      [
        listed.get('env-1')?.incremental,
        listed.get('env-1')?.copiedBytes,
        listed.get('env-2')?.incremental,
        listed.get('env-2')?.copiedBytes,
      ],
      [false, first.bytes, true, second.copiedBytes],
    );
  });

  it('has no backups in a folder that does not exist', async () => {
    assert.deepEqual(await listBackups(path.join(tmp, 'nothing-here')), []);
  });
});
