import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArchiveProgress, exportArchive } from '../../../src/core/archive/exportArchive';
import { extractArchive, isArchivePath, withExtractedArchive } from '../../../src/core/archive/extractArchive';
import { TracBackupError } from '../../../src/core/shared/errors';
import { walkTree } from '../../../src/core/fs/fileTree';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest } from '../../../src/core/catalog/manifest';
import { writeTarGz } from '../../support/craftTar';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { compareTrees } from '../../support/treeCompare';

const hasGnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU tar') ?? false;

/** Files whose mode is not the one the backup's metadata records (the environment's): an archive carries those. */
async function modesOtherThanRecorded(dir: string, backup: string): Promise<string[]> {
  const odd: string[] = [];
  for (const entry of (await readManifest(backup))?.entries ?? []) {
    const mode = entry.type === 'symlink' ? undefined : (await fs.lstat(path.join(dir, entry.path))).mode & 0o7777;
    if (entry.type !== 'symlink' && mode !== entry.mode) {
      odd.push(`${entry.path}: ${mode?.toString(8)}, the metadata says ${entry.mode.toString(8)}`);
    }
  }
  return odd;
}

async function rootOf(dir: string): Promise<{ mode: number; mtimeMs: number }> {
  const stats = await fs.stat(dir);
  return { mode: stats.mode & 0o7777, mtimeMs: Math.floor(stats.mtimeMs) };
}

describe('archive export and extraction', () => {
  let tmp: string;
  let backup: string;
  let archive: string;
  before(async () => {
    tmp = await makeTempDir();
    const env = await copyFixture('trac-1.6-populated', 'env', path.join(tmp, 'source'));
    await fs.symlink('../conf/trac.ini', path.join(env, 'htdocs', 'config-link'));
    await fs.symlink('does-not-exist', path.join(env, 'htdocs', 'dangling-link'));
    await fs.chmod(path.join(env, 'plugins', 'hello_plugin.py'), 0o750);
    await fs.mkdir(path.join(env, 'empty', 'nested'), { recursive: true });
    await fs.mkdir(path.join(env, 'read-only'));
    await fs.writeFile(path.join(env, 'read-only', 'notes.txt'), 'kept as is');
    await fs.writeFile(path.join(env, 'htdocs', `${'long-name-'.repeat(12)}é.txt`), 'a path ustar cannot hold');
    await fs.chmod(path.join(env, 'read-only'), 0o555);
    backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest;
    await fs.utimes(path.join(backup, 'VERSION'), new Date('2020-02-02T02:02:02.345Z'), new Date('2020-02-02T02:02:02.345Z'));
    await fs.lutimes(
      path.join(backup, 'htdocs', 'config-link'),
      new Date('2021-01-01T00:00:00.500Z'),
      new Date('2021-01-01T00:00:00.500Z'),
    );
    await fs.utimes(backup, new Date('2022-03-03T03:03:03.678Z'), new Date('2022-03-03T03:03:03.678Z'));
    archive = path.join(tmp, 'archives', 'env-1.tar.gz');
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('round-trips a backup: content, modes, mtimes, links as links, the top folder too', async () => {
    const events: ArchiveProgress[] = [];
    const result = await exportArchive(backup, archive, { onProgress: (event) => events.push(event) });

    assert.equal(result.archive, archive);
    assert.ok(result.files > 40 && result.bytes > 0 && result.archiveBytes > 0);
    assert.equal((await fs.stat(archive)).mode & 0o777, 0o600, 'the archive holds the database: its owner only');
    assert.deepEqual(await fs.readdir(path.dirname(archive)), ['env-1.tar.gz'], 'no temporary file is left');
    const last = events[events.length - 1];
    assert.equal(last.bytesDone, last.bytesTotal);
    assert.equal(last.filesDone, result.files);
    assert.ok(events.every((event, i) => i === 0 || event.bytesDone >= events[i - 1].bytesDone));

    const out = path.join(tmp, 'extracted');
    await fs.mkdir(out);
    const extracted = await extractArchive(archive, path.join(out, 'env-1'));
    // The backup's files are read-only; the archive gives them the environment's modes back.
    assert.deepEqual(await compareTrees(backup, extracted.dir, undefined, { ignoreWriteBits: true }), []);
    assert.deepEqual(await modesOtherThanRecorded(extracted.dir, backup), []);
    assert.deepEqual(await rootOf(extracted.dir), await rootOf(backup));
    assert.equal(await fs.readlink(path.join(extracted.dir, 'htdocs', 'config-link')), '../conf/trac.ini');
    assert.ok((await fs.lstat(path.join(extracted.dir, MANIFEST_FILE))).isFile(), 'the metadata travels with the backup');
  });

  it('writes what GNU tar reads back as the same tree', { skip: !hasGnuTar && 'GNU tar is not installed' }, async () => {
    await fs.rm(archive, { force: true });
    await exportArchive(backup, archive);
    const listing = spawnSync('tar', ['tzf', archive], { encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    const names = listing.stdout.split('\n');
    assert.equal(names[0], './', 'entries are relative to the backup folder');
    assert.ok(names.includes('./VERSION') && names.includes('./conf/trac.ini'));
    const out = path.join(tmp, 'gnu-extracted');
    await fs.mkdir(out);
    const extracting = spawnSync('tar', ['xzf', archive, '-C', out], { encoding: 'utf8' });
    assert.equal(extracting.status, 0, extracting.stderr);
    assert.deepEqual(await compareTrees(backup, out, undefined, { ignoreWriteBits: true }), []);
    assert.deepEqual(await modesOtherThanRecorded(out, backup), []);
  });

  it(
    'extracts a tar made by hand with one top folder, and hands over that folder',
    { skip: !hasGnuTar && 'GNU tar is not installed' },
    async () => {
      const copy = path.join(tmp, 'by-hand', 'env-copy');
      await fs.mkdir(path.dirname(copy));
      assert.equal(spawnSync('cp', ['-a', backup, copy]).status, 0);
      // GNU tar's default format keeps whole seconds: give the copy whole-second times to compare exactly.
      for (const entry of [...(await walkTree(copy)), { absolute: copy }]) {
        const stats = await fs.lstat(entry.absolute);
        const second = new Date(Math.floor(stats.mtimeMs / 1000) * 1000);
        await fs.lutimes(entry.absolute, second, second);
      }
      const handMade = path.join(tmp, 'by-hand', 'copy.tgz');
      assert.equal(spawnSync('tar', ['czf', handMade, '-C', path.dirname(copy), 'env-copy']).status, 0);
      const temps = path.join(tmp, 'by-hand-temp');
      await fs.mkdir(temps);

      const seen = await withExtractedArchive(
        handMade,
        async (root) => {
          assert.equal(path.basename(root), 'env-copy');
          assert.deepEqual(await compareTrees(copy, root), []);
          assert.deepEqual(await rootOf(root), await rootOf(copy));
          return root;
        },
        { tempParent: temps },
      );

      assert.ok(seen.startsWith(temps + path.sep));
      assert.deepEqual(await fs.readdir(temps), [], 'the temporary folder is removed');
    },
  );

  it('removes the temporary folder when the work on it fails', async () => {
    const temps = path.join(tmp, 'failing-temp');
    await fs.mkdir(temps);
    await fs.rm(archive, { force: true });
    await exportArchive(backup, archive);
    await assert.rejects(
      withExtractedArchive(archive, async () => Promise.reject(new Error('restore failed')), { tempParent: temps }),
      /restore failed/,
    );
    assert.deepEqual(await fs.readdir(temps), []);
  });

  it('accepts a hard link to a file extracted before it', async () => {
    const file = await writeTarGz(path.join(tmp, 'hard-ok.tar.gz'), [
      { path: './', type: 'Directory' },
      { path: './VERSION', content: 'Trac Environment Version 1\n' },
      { path: './conf/trac.ini', content: '[trac]\n' },
      { path: './conf/copy.ini', type: 'Link', linkpath: './conf/trac.ini' },
    ]);
    const out = path.join(tmp, 'hard-ok');
    await extractArchive(file, out);
    assert.equal(await fs.readFile(path.join(out, 'conf', 'copy.ini'), 'utf8'), '[trac]\n');
    assert.equal((await fs.stat(path.join(out, 'conf', 'copy.ini'))).nlink, 2);
  });

  it('never overwrites an existing archive', async () => {
    const existing = path.join(tmp, 'existing', 'taken.tar.gz');
    await fs.mkdir(path.dirname(existing));
    await fs.writeFile(existing, 'keep me');

    await assert.rejects(exportArchive(backup, existing), (error: TracBackupError) => {
      assert.equal(error.code, 'DESTINATION_EXISTS');
      assert.match(error.message, /can't overwrite existing '.*taken\.tar\.gz'/i);
      return true;
    });
    assert.equal(await fs.readFile(existing, 'utf8'), 'keep me');
    assert.deepEqual(await fs.readdir(path.dirname(existing)), ['taken.tar.gz']);
  });

  it('replaces an existing archive only when asked, and only once the new one is whole', async () => {
    const existing = path.join(tmp, 'replaced', 'taken.tar.gz');
    await fs.mkdir(path.dirname(existing));
    await fs.writeFile(existing, 'the old archive');
    const controller = new AbortController();
    await assert.rejects(
      exportArchive(backup, existing, {
        replace: true,
        signal: controller.signal,
        onProgress: (event) => event.bytesDone > 0 && controller.abort(),
      }),
      { code: 'CANCELLED' },
    );
    assert.equal(await fs.readFile(existing, 'utf8'), 'the old archive', 'a cancelled export touched the archive it was to replace');
    const result = await exportArchive(backup, existing, { replace: true });
    assert.equal(result.archive, existing);
    assert.deepEqual(
      await fs.readdir(path.dirname(existing)),
      ['taken.tar.gz'],
      'the new archive was not put in place, or a temporary file stayed',
    );
    await withExtractedArchive(existing, async (root) =>
      assert.deepEqual(await compareTrees(backup, root, undefined, { ignoreWriteBits: true }), []),
    );
  });

  it('refuses a source that is not a backup, and an archive inside the backup', async () => {
    const notBackup = path.join(tmp, 'not-a-backup');
    await fs.mkdir(notBackup);
    await assert.rejects(exportArchive(notBackup, path.join(tmp, 'x.tar.gz')), { code: 'NOT_AN_ENVIRONMENT' });
    await assert.rejects(exportArchive(backup, path.join(backup, 'self.tar.gz')), { code: 'DESTINATION_INSIDE_SOURCE' });
    await assert.rejects(fs.lstat(path.join(tmp, 'x.tar.gz')), { code: 'ENOENT' });
    await assert.rejects(fs.lstat(path.join(backup, 'self.tar.gz')), { code: 'ENOENT' });
  });

  it('leaves no file behind when cancelled', async () => {
    const target = path.join(tmp, 'cancelled', 'env.tar.gz');
    const controller = new AbortController();
    await assert.rejects(
      exportArchive(backup, target, {
        signal: controller.signal,
        onProgress: (event) => {
          if (event.bytesDone > 0) {
            controller.abort();
          }
        },
      }),
      { code: 'CANCELLED' },
    );
    await assert.rejects(fs.readdir(path.dirname(target)), { code: 'ENOENT' }, 'a partial archive, or the folder made for it, is left');
  });

  it('removes the extraction folder when an extraction is cancelled', async () => {
    await fs.rm(archive, { force: true });
    await exportArchive(backup, archive);
    const parent = path.join(tmp, 'cancel-extract');
    await fs.mkdir(parent);
    const controller = new AbortController();
    await assert.rejects(
      extractArchive(archive, path.join(parent, 'out'), {
        signal: controller.signal,
        onProgress: (event) => {
          if (event.bytesDone > 0) {
            controller.abort();
          }
        },
      }),
      { code: 'CANCELLED' },
    );
    assert.deepEqual(await fs.readdir(parent), []);
  });

  it('knows archive names', () => {
    assert.ok(isArchivePath('/b/env-20240101-120000.tar.gz'));
    assert.ok(isArchivePath('env.TGZ'));
    assert.ok(!isArchivePath('/b/env-20240101-120000'));
    assert.ok(!isArchivePath('env.tar'));
  });
});
