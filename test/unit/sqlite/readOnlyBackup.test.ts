import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readUnshared } from '../../../src/core/sqlite/databaseCheck';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { restore } from '../../../src/core/restore/restore';
import { readSqliteHeader } from '../../../src/core/sqlite/tracDatabase';
import { type VerifyResult, verifyBackup } from '../../../src/core/verify/verify';
import { runBuiltCli } from '../../support/cliRun';
import { inspectDatabase, openTracDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { fingerprintTree } from '../../support/treeCompare';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const isRoot = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };

describe('a good WAL-mode backup on media its reader cannot write', { skip: !isRoot && 'mounting and running as nobody need root' }, () => {
  let tmp: string;
  let backup: string;
  let mountPoint: string | undefined;
  before(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--only=cli'], { cwd: ROOT, stdio: 'pipe' });
    tmp = await makeTempDir();
    await fs.chmod(tmp, 0o755);
    const env = await copyFixture('trac-1.6-populated', 'env', tmp);
    const db = openTracDatabase(path.join(env, 'db', 'trac.db'));
    db.pragma('journal_mode = WAL');
    db.close();
    backup = (await hotcopy(env, path.join(tmp, 'backups', 'b1'))).dest;
    assert.equal(readSqliteHeader(path.join(backup, 'db', 'trac.db'))?.wal, true, 'the backup holds a WAL-mode database');
  });
  after(async () => {
    if (mountPoint) {
      execFileSync('umount', [mountPoint]);
    }
    await removeTempDir(tmp);
  });

  it('verifies and restores it from a read-only bind mount, writing nothing there', async () => {
    mountPoint = path.join(tmp, 'read-only');
    await fs.mkdir(mountPoint);
    execFileSync('mount', ['--bind', backup, mountPoint]);
    execFileSync('mount', ['-o', 'remount,ro,bind', mountPoint]);
    await assert.rejects(fs.writeFile(path.join(mountPoint, 'probe'), 'x'), { code: 'EROFS' });
    const before = await fingerprintTree(mountPoint);

    const verified = await verifyBackup(mountPoint);
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.database.version, '45');

    const target = path.join(tmp, 'restored-from-mount');
    await restore(mountPoint, target);
    assert.deepEqual(inspectDatabase(path.join(target, 'db', 'trac.db')).integrity, 'ok');
    assert.deepEqual(await fingerprintTree(mountPoint), before);
  });

  it('verifies and restores it as a user who can read it but not write it', async () => {
    const dbFolder = path.join(backup, 'db');
    assert.equal((await fs.stat(dbFolder)).uid, 0, 'the backup belongs to root');
    const before = await fingerprintTree(backup);

    const verified = runBuiltCli(['verify', backup, '--json'], NOBODY);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.equal((JSON.parse(verified.stdout) as VerifyResult).ok, true);

    const targetParent = path.join(tmp, 'nobody-owns');
    await fs.mkdir(targetParent);
    await fs.chown(targetParent, NOBODY.uid, NOBODY.gid);
    const restored = runBuiltCli(['restore', backup, path.join(targetParent, 'env'), '--json'], NOBODY);
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    assert.equal(inspectDatabase(path.join(targetParent, 'env', 'db', 'trac.db')).integrity, 'ok');
    assert.deepEqual(await fingerprintTree(backup), before);
    assert.deepEqual((await fs.readdir(dbFolder)).sort(), ['trac.db']);
  });
});

describe('a plain copy of a live WAL-mode environment, its -wal beside the database', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('is read with the commits its -wal holds, and nothing is made beside it', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', tmp);
    const file = path.join(env, 'db', 'trac.db');
    const writer = openTracDatabase(file);
    const copy = path.join(tmp, 'copy');
    try {
      writer.pragma('journal_mode = WAL');
      writer.pragma('wal_autocheckpoint = 0');
      writer
        .prepare("INSERT INTO ticket (id, type, time, changetime, status, summary) VALUES (777, 'defect', 1, 1, 'new', 'only in the wal')")
        .run();
      assert.ok((await fs.stat(`${file}-wal`)).size > 0);
      await fs.cp(env, copy, { recursive: true });
    } finally {
      writer.close();
    }
    const copied = path.join(copy, 'db', 'trac.db');
    const before = (await fs.readdir(path.dirname(copied))).sort();

    const count = readUnshared(copied, (db) => (db.prepare('SELECT count(*) AS n FROM ticket WHERE id = 777').get() as { n: number }).n);

    assert.equal(count, 1, 'the commit in the -wal is seen');
    assert.deepEqual((await fs.readdir(path.dirname(copied))).sort(), before, 'nothing changed beside it');
    const verified = await verifyBackup(copy);
    assert.deepEqual(verified.problems, []);
  });

  it('is read from a copy where SQLite cannot open immutable URI filenames (its binding loaded by someone else first)', async () => {
    const env = await copyFixture('trac-1.6-populated', 'uri-off', tmp);
    const file = path.join(env, 'db', 'trac.db');
    const script = `
      process.env.SQLITE_USE_URI = '0';
      // The binding reads its URI setting when its first connection opens.
      new (require('better-sqlite3'))(':memory:').close();
      const { readUnshared } = require(${JSON.stringify(path.join(__dirname, '..', '..', '..', 'src', 'core', 'sqlite', 'databaseCheck.js'))});
      process.stdout.write(String(readUnshared(process.argv[1], (db) => db.prepare('SELECT count(*) AS n FROM ticket').get().n)));
    `;
    const before = (await fs.readdir(path.dirname(file))).sort();
    const count = execFileSync(process.execPath, ['-e', script, file], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, SQLITE_USE_URI: '0' },
    });
    assert.equal(count, '60');
    assert.deepEqual((await fs.readdir(path.dirname(file))).sort(), before);
  });
});
