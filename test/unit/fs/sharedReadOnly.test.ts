import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { MANIFEST_FILE } from '../../../src/core/catalog/manifest';
import { deleteBackup } from '../../../src/core/catalog/prune';
import { walkTree } from '../../../src/core/fs/fileTree';
import { setFsRetrySeam } from '../../../src/core/fs/retry';
import { keepingSharedReadOnly, readOnlyModeToPutBack, removalClearsSharedReadOnly } from '../../../src/core/fs/sharedReadOnly';
import { makeBackupChain } from '../../support/backupChain';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

/** The files of a backup (its own metadata file aside, which is never linked) and their modes and link counts. */
async function filesOf(backup: string): Promise<Map<string, { mode: number; nlink: number }>> {
  const files = new Map<string, { mode: number; nlink: number }>();
  for (const entry of await walkTree(backup)) {
    if (entry.kind === 'file' && entry.relative !== MANIFEST_FILE) {
      const stats = await fs.lstat(entry.absolute);
      files.set(entry.relative, { mode: stats.mode & 0o7777, nlink: stats.nlink });
    }
  }
  return files;
}

/**
 * fs.rm as Windows does it to a read-only file: its read-only flag cleared first (libuv's unlink
 * where Windows cannot delete ignoring it, Node's fs.rm on EPERM), on the file, so on every link.
 */
async function rmAsOnWindows(target: string): Promise<void> {
  const stats = await fs.lstat(target).catch(() => undefined);
  const files = stats?.isDirectory()
    ? (await walkTree(target)).filter((entry) => entry.kind === 'file').map((entry) => entry.absolute)
    : stats?.isFile()
      ? [target]
      : [];
  for (const file of files) {
    await fs.chmod(file, 0o666);
  }
  await fs.rm(target, { recursive: true, force: true });
}

describe('read-only files shared by hard links, when one backup is deleted', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => setFsRetrySeam(undefined));
  after(async () => {
    await removeTempDir(tmp);
  });

  it('are looked after only where a removal can change the mode the other links see (Windows)', () => {
    assert.equal(removalClearsSharedReadOnly('win32'), true);
    assert.equal(removalClearsSharedReadOnly('linux'), false);
    assert.equal(removalClearsSharedReadOnly('darwin'), false);
  });

  it('get their read-only mode back when it was cleared, and only then', () => {
    assert.equal(readOnlyModeToPutBack(0o444, 0o666), 0o444);
    assert.equal(readOnlyModeToPutBack(0o555, 0o777), 0o555);
    assert.equal(readOnlyModeToPutBack(0o444, 0o444), undefined, 'still read-only');
    assert.equal(readOnlyModeToPutBack(0o644, 0o666), undefined, 'writable before: a backup made before files were read-only');
  });

  async function twoLinkedBackups(name: string): Promise<{ older: string; newer: string }> {
    const env = await copyFixture('trac-1.6-fresh', name, tmp);
    const [older, newer] = await makeBackupChain(env, path.join(tmp, `${name}-backups`), [new Date(2024, 0, 1), new Date(2024, 0, 2)]);
    return { older, newer };
  }

  it('on Windows (played here): deleting the newer backup leaves the older one read-only', async () => {
    const { older, newer } = await twoLinkedBackups('windows');
    const before = await filesOf(older);
    const shared = [...before].filter(([, file]) => file.nlink > 1).map(([relative]) => relative);
    assert.ok(shared.length >= 5, `the backups share ${shared.length} files`);
    assert.ok(
      [...before.values()].every((file) => (file.mode & 0o222) === 0),
      'the older backup is read-only',
    );

    setFsRetrySeam({ platform: 'win32', rm: rmAsOnWindows });
    await deleteBackup(newer);
    setFsRetrySeam(undefined);

    assert.equal(await fs.lstat(newer).catch(() => undefined), undefined, 'the newer backup is gone');
    const afterwards = await filesOf(older);
    const writable = [...afterwards].filter(([, file]) => (file.mode & 0o222) !== 0).map(([relative]) => relative);
    assert.deepEqual(writable, [], 'no file of the older backup became writable');
    for (const relative of shared) {
      assert.equal(afterwards.get(relative)?.mode, before.get(relative)?.mode, relative);
      assert.equal(afterwards.get(relative)?.nlink, 1, `${relative}: its other link went with the deleted backup`);
    }
  });

  it('on Windows (played here): one file of a backup being built removed (an attachment Trac deleted meanwhile) leaves its link in the previous backup read-only', async () => {
    const folder = path.join(tmp, 'one-file');
    const previous = path.join(folder, 'env-20240101-000000');
    const building = path.join(folder, '.env-20240102-000000.backup-1-x');
    await fs.mkdir(path.join(previous, 'files'), { recursive: true });
    await fs.mkdir(path.join(building, 'files'), { recursive: true });
    await fs.writeFile(path.join(previous, 'files', 'a.txt'), 'attachment');
    await fs.chmod(path.join(previous, 'files', 'a.txt'), 0o444);
    await fs.link(path.join(previous, 'files', 'a.txt'), path.join(building, 'files', 'a.txt'));

    setFsRetrySeam({ platform: 'win32' });
    await keepingSharedReadOnly(building, 'files/a.txt', () => rmAsOnWindows(path.join(building, 'files', 'a.txt')));
    setFsRetrySeam(undefined);

    assert.equal(await fs.lstat(path.join(building, 'files', 'a.txt')).catch(() => undefined), undefined, 'removed');
    assert.equal((await fs.lstat(path.join(previous, 'files', 'a.txt'))).mode & 0o777, 0o444);
  });

  it('on Linux: deleting a backup, even one whose folders must be made writable first, changes no mode of the other', async () => {
    const { older, newer } = await twoLinkedBackups('linux');
    const before = await filesOf(older);
    // A read-only folder in the doomed backup, and a first removal refused as a non-root user's
    // would be: removeTree then makes its folders writable (and, so this shows, nothing else).
    await fs.chmod(path.join(newer, 'conf'), 0o555);
    let refused = false;
    setFsRetrySeam({
      rm: async (target) => {
        if (!refused) {
          refused = true;
          throw Object.assign(new Error(`EACCES: permission denied, rmdir '${target}'`), { code: 'EACCES' });
        }
        await fs.rm(target, { recursive: true, force: true });
      },
    });
    await deleteBackup(newer);
    setFsRetrySeam(undefined);

    assert.ok(refused, 'the first removal was refused');
    assert.equal(await fs.lstat(newer).catch(() => undefined), undefined, 'the newer backup is gone');
    const afterwards = await filesOf(older);
    assert.deepEqual(
      [...afterwards].map(([relative, file]) => [relative, file.mode.toString(8)]),
      [...before].map(([relative, file]) => [relative, file.mode.toString(8)]),
    );
  });
});
