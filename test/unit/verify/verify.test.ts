import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest, writeManifest } from '../../../src/core/catalog/manifest';
import { VerifyResult, verifyBackup } from '../../../src/core/verify/verify';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { corruptPageInMiddle } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';
import { openTracDatabase } from '../../support/database';

const ATTACHMENT = attachmentRelativePath('ticket', '30', 'log-1.bin');

function problemPaths(result: VerifyResult): string[] {
  return [...new Set(result.problems.map((problem) => problem.path))];
}

describe('verifyBackup', () => {
  let tmp: string;
  let env: string;
  let count = 0;
  /** A new backup of the populated fixture, to damage. */
  const freshBackup = async (options: { includeDatabase?: boolean } = {}) => {
    const dest = path.join(tmp, 'backups', `b${++count}`);
    await hotcopy(env, dest, options);
    return dest;
  };
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('passes a fresh backup, checking every file, and changes nothing', async () => {
    const backup = await freshBackup();
    const before = await fingerprintTree(backup);
    const progress: string[] = [];

    const result = await verifyBackup(backup, { onProgress: (event) => progress.push(event.phase) });

    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.kind, 'hotcopy');
    const manifest = await readManifest(backup);
    assert.equal(result.checkedFiles, manifest?.fileCount);
    assert.equal(result.checkedBytes, manifest?.bytes);
    assert.deepEqual(result.database, { path: 'db/trac.db', check: 'integrity_check', version: '45', note: undefined });
    assert.equal(result.createdAt, manifest?.createdAt);
    assert.deepEqual([...new Set(progress)], ['scan', 'database', 'files']);
    assert.deepEqual(await fingerprintTree(backup), before, 'verify writes nothing');
    const quick = await verifyBackup(backup, { full: false });
    assert.equal(quick.ok, true);
    assert.equal(quick.database.check, 'quick_check');
  });

  it('says in one problem that a folder which is neither a backup nor an environment is not one, without reading it all', async () => {
    const folder = path.join(tmp, 'just-files');
    for (let i = 0; i < 30; i++) {
      await fs.mkdir(path.join(folder, `dir${i}`), { recursive: true });
      await fs.writeFile(path.join(folder, `dir${i}`, 'notes.txt'), `file ${i}\n`);
    }
    const phases: string[] = [];

    const result = await verifyBackup(folder, { onProgress: (event) => phases.push(event.phase) });

    assert.equal(result.ok, false);
    assert.equal(result.problems.length, 1, JSON.stringify(result.problems));
    assert.equal(result.problems[0].path, '.');
    assert.match(result.problems[0].problem, /is not a Trac backup or environment: it has no VERSION file/);
    assert.equal(result.checkedFiles, 0);
    assert.deepEqual([...new Set(phases)], ['scan']);
  });

  it('fails when one byte of an attachment is flipped, naming the attachment', async () => {
    const backup = await freshBackup();
    const file = path.join(backup, ATTACHMENT);
    const bytes = await fs.readFile(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    await fs.writeFile(file, bytes);

    const result = await verifyBackup(backup);

    assert.equal(result.ok, false);
    assert.deepEqual(problemPaths(result), [ATTACHMENT]);
    assert.match(result.problems[0].problem, /SHA-256/);
  });

  it('fails when the database is truncated, naming the database', async () => {
    const backup = await freshBackup();
    const db = path.join(backup, 'db', 'trac.db');
    await fs.truncate(db, Math.floor((await fs.stat(db)).size / 2));

    const result = await verifyBackup(backup);

    assert.equal(result.ok, false);
    assert.deepEqual(problemPaths(result), ['db/trac.db']);
    assert.ok(
      result.problems.some((problem) => /cut short/.test(problem.problem)),
      JSON.stringify(result.problems),
    );
    assert.ok(result.problems.some((problem) => /metadata says/.test(problem.problem)));
  });

  it('fails when a file is deleted, naming it as missing', async () => {
    const backup = await freshBackup();
    await fs.rm(path.join(backup, 'plugins', 'hello_plugin.py'));

    const result = await verifyBackup(backup);

    assert.deepEqual(result.problems, [{ path: 'plugins/hello_plugin.py', problem: 'missing (the metadata lists this file)' }]);
  });

  it('fails when a stray file or folder is added, naming it once', async () => {
    const backup = await freshBackup();
    await fs.writeFile(path.join(backup, 'htdocs', 'stray.txt'), 'not from the backup');
    await fs.mkdir(path.join(backup, 'stray-folder', 'deeper'), { recursive: true });
    await fs.writeFile(path.join(backup, 'stray-folder', 'deeper', 'x'), 'x');

    const result = await verifyBackup(backup);

    assert.deepEqual(problemPaths(result), ['htdocs/stray.txt', 'stray-folder']);
    assert.match(result.problems[0].problem, /not in the metadata/);
  });

  it('fails on a corrupted database page (quick_check, as restore uses it)', async () => {
    const backup = await freshBackup();
    corruptPageInMiddle(path.join(backup, 'db', 'trac.db'));

    const result = await verifyBackup(backup, { full: false });

    assert.deepEqual(problemPaths(result), ['db/trac.db']);
    assert.ok(
      result.problems.some((problem) => /quick_check|cannot be read by SQLite/.test(problem.problem)),
      JSON.stringify(result.problems),
    );
    assert.ok(result.problems.some((problem) => /SHA-256/.test(problem.problem)));
  });

  it('fails when a symbolic link points elsewhere, or a file became a link', async () => {
    await fs.symlink('../conf/trac.ini', path.join(env, 'htdocs', 'config-link'));
    const backup = await freshBackup();
    await fs.rm(path.join(env, 'htdocs', 'config-link'));
    await fs.rm(path.join(backup, 'htdocs', 'config-link'));
    await fs.symlink('/etc/passwd', path.join(backup, 'htdocs', 'config-link'));
    await fs.rm(path.join(backup, 'VERSION'));
    await fs.symlink(path.join(env, 'VERSION'), path.join(backup, 'VERSION'));

    const result = await verifyBackup(backup);

    assert.deepEqual(result.problems, [
      { path: 'VERSION', problem: 'is a symbolic link, the metadata says a file' },
      { path: 'htdocs/config-link', problem: 'links to /etc/passwd, the metadata says ../conf/trac.ini' },
    ]);
  });

  it('names a missing VERSION and conf/trac.ini, and damaged metadata', async () => {
    const backup = await freshBackup();
    await fs.rm(path.join(backup, 'VERSION'));
    await fs.rm(path.join(backup, 'conf', 'trac.ini'));

    const result = await verifyBackup(backup);

    assert.deepEqual(problemPaths(result), ['VERSION', 'conf/trac.ini']);
    await fs.writeFile(path.join(backup, MANIFEST_FILE), '{ not json');
    const broken = await verifyBackup(backup);
    assert.ok(problemPaths(broken).includes(MANIFEST_FILE));
    assert.equal(broken.kind, 'hotcopy');
  });

  it('checks a trac-admin hotcopy folder (no metadata) with the checks that need none', async () => {
    const plain = await copyFixture('trac-1.6-populated', 'plain', path.join(tmp, 'plain'));

    const result = await verifyBackup(plain);

    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.equal(result.kind, 'trac-admin');
    assert.equal(result.database.check, 'integrity_check');
    assert.ok(result.checkedFiles > 40, 'every file was read');
    assert.match(result.notes.join(' '), /No metadata/);
    await fs.writeFile(path.join(plain, 'htdocs', 'stray.txt'), 'nobody can tell');
    assert.equal((await verifyBackup(plain)).ok, true, 'without metadata, an added file cannot be told');
    corruptPageInMiddle(path.join(plain, 'db', 'trac.db'));
    assert.deepEqual(problemPaths(await verifyBackup(plain)), ['db/trac.db']);
    await fs.rm(path.join(plain, 'db', 'trac.db'));
    const missing = await verifyBackup(plain);
    assert.deepEqual(problemPaths(missing), ['db/trac.db']);
    assert.match(missing.problems[0].problem, /missing/);
  });

  it('passes a --no-database backup without its database', async () => {
    const backup = await freshBackup({ includeDatabase: false });

    const result = await verifyBackup(backup);

    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.deepEqual(result.database.path, null);
    assert.equal(result.database.check, 'skipped');
    assert.match(result.notes.join(' '), /--no-database/);
  });

  it('leaves no -wal or -shm file beside a WAL database it checks', async () => {
    const walEnv = await copyFixture('trac-1.6-populated', 'wal-env', path.join(tmp, 'wal'));
    const db = openTracDatabase(path.join(walEnv, 'db', 'trac.db'));
    db.pragma('journal_mode = WAL');
    db.close();
    const backup = path.join(tmp, 'wal', 'backup');
    await hotcopy(walEnv, backup);
    const before = (await fs.readdir(path.join(backup, 'db'))).sort();

    const result = await verifyBackup(backup);

    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.deepEqual((await fs.readdir(path.join(backup, 'db'))).sort(), before);
  });

  it("fails when an attachment row's file is not in the backup, naming the row and the path Trac reads", async () => {
    const backup = await freshBackup();
    // As a backup that did not follow a linked files/ folder, or lost a file: metadata and disk agree, the row has no file.
    const manifest = (await readManifest(backup))!;
    await fs.rm(path.join(backup, ATTACHMENT));
    await writeManifest(backup, { ...manifest, entries: manifest.entries.filter((entry) => entry.path !== ATTACHMENT) });

    const result = await verifyBackup(backup);

    assert.equal(result.ok, false);
    assert.deepEqual(result.problems, [
      { path: ATTACHMENT, problem: 'missing: the attachment row ticket:30/log-1.bin of the database names this file' },
    ]);
    const quick = await verifyBackup(backup, { full: false });
    assert.deepEqual(
      quick.problems.map((problem) => problem.path),
      [ATTACHMENT],
      'restore checks it too',
    );
  });

  it('reports a folder that does not exist', async () => {
    const result = await verifyBackup(path.join(tmp, 'nowhere'));
    assert.deepEqual(result.problems, [{ path: '.', problem: 'the folder does not exist' }]);
  });

  it('stops when cancelled', async () => {
    const backup = await freshBackup();
    const controller = new AbortController();
    await assert.rejects(
      verifyBackup(backup, {
        signal: controller.signal,
        onProgress: (event) => event.phase === 'files' && controller.abort(),
      }),
      { code: 'CANCELLED' },
    );
  });
});
