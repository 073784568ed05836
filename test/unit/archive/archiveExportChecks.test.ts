import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { list } from 'tar';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest } from '../../../src/core/catalog/manifest';
import { loadSqlite } from '../../../src/core/sqlite/sqlite';
import { startNode } from '../../support/childProcess';
import { errorLine, runCliCaptured } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { refusal } from '../../support/refusal';

/** Each entry's mode as the archive records it, by path without the leading './'. */
async function archivedModes(archive: string): Promise<Map<string, number>> {
  const modes = new Map<string, number>();
  await list({ file: archive, onReadEntry: (entry) => modes.set(entry.path.replace(/^\.\/?/, '').replace(/\/$/, ''), entry.mode ?? -1) });
  return modes;
}

describe('archive refuses what its own restore would refuse, before writing anything', () => {
  let tmp: string;
  let area = 0;
  const newArea = () => path.join(tmp, `case-${++area}`);
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('a backup holding a symbolic link that leads outside it (a plugin linked to /opt/...), naming the entry and what to do', async () => {
    const root = newArea();
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    await fs.symlink('/opt/trac-plugins/TracTags.egg', path.join(env, 'plugins', 'TracTags.egg'));
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    const file = path.join(root, 'out', 'b1.tar.gz');

    const result = await runCliCaptured(['archive', backup, file]);

    assert.equal(result.code, 1);
    const line = errorLine(result.stderr);
    assert.ok(line.includes(`'plugins/TracTags.egg' is a symbolic link to '/opt/trac-plugins/TracTags.egg'`), line);
    assert.match(line, /a restore from the archive would refuse it/);
    assert.match(line, /Replace the link by what it points to .*or keep the backup folder/);
    await assert.rejects(fs.lstat(path.join(root, 'out')), { code: 'ENOENT' }, 'nothing was written');
  });

  it('a relative link that climbs out of the backup, also through another link; a link that stays inside is fine', async () => {
    const root = newArea();
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    await fs.symlink('../README', path.join(env, 'htdocs', 'readme-link'));
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    await exportArchive(backup, path.join(root, 'fine.tar.gz'));

    await fs.symlink('..', path.join(env, 'htdocs', 'up'));
    await fs.symlink('up/../outside.txt', path.join(env, 'htdocs', 'through'));
    const linked = (await hotcopy(env, path.join(root, 'backups', 'b2'))).dest;
    const file = path.join(root, 'b2.tar.gz');
    await assert.rejects(
      exportArchive(linked, file),
      refusal('ARCHIVE_UNSAFE', `'htdocs/through' is a symbolic link to 'up/../outside.txt'`),
    );
    await assert.rejects(fs.lstat(file), { code: 'ENOENT' });
    assert.deepEqual(
      (await fs.readdir(root)).filter((name) => name.startsWith('.')),
      [],
    );
  });

  it('a live environment: its database with a -wal or -shm beside it, or Trac using it', async () => {
    const root = newArea();
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    const file = path.join(root, 'live.tar.gz');
    const db = new (loadSqlite())(path.join(env, 'db', 'trac.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.prepare("INSERT INTO ticket (summary, status, time, changetime) VALUES ('live', 'new', 0, 0)").run();
      await fs.access(path.join(env, 'db', 'trac.db-wal'));
      await assert.rejects(
        exportArchive(env, file),
        refusal('TRAC_RUNNING', path.join(env, 'db', 'trac.db-wal'), 'make a backup with trac-backup hotcopy and archive that'),
      );
    } finally {
      db.close();
    }
    await assert.rejects(fs.lstat(file), { code: 'ENOENT' });

    const tracd = startNode(['-e', 'console.log("serving"); setInterval(() => {}, 1000)', '--', env]);
    try {
      await tracd.waitForLine((line) => line === 'serving');
      await assert.rejects(
        exportArchive(env, file),
        refusal('TRAC_RUNNING', `process ${tracd.child.pid} (`, 'make a backup with trac-backup hotcopy and archive that'),
      );
    } finally {
      tracd.child.kill();
      await tracd.exited;
    }
    await assert.rejects(fs.lstat(file), { code: 'ENOENT' });
  });

  it('writes each file with the mode the environment had (from the metadata), not the backup’s read-only one', async () => {
    const root = newArea();
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    await fs.chmod(path.join(env, 'plugins', 'hello_plugin.py'), 0o750);
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    const archive = (await exportArchive(backup, path.join(root, 'b1.tar.gz'))).archive;
    const manifest = await readManifest(backup);

    const modes = await archivedModes(archive);

    assert.equal((await fs.stat(path.join(backup, 'conf', 'trac.ini'))).mode & 0o777, 0o444, 'the backup stays read-only');
    assert.equal(modes.get('conf/trac.ini'), 0o644);
    assert.equal(modes.get('db/trac.db'), 0o644);
    assert.equal(modes.get('plugins/hello_plugin.py'), 0o750);
    for (const entry of manifest?.entries ?? []) {
      if (entry.type !== 'symlink') {
        assert.equal(modes.get(entry.path), entry.mode, entry.path);
      }
    }
    assert.equal(modes.get(MANIFEST_FILE), 0o644);
  });
});
