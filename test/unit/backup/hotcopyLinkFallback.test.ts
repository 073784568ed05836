import * as assert from 'node:assert/strict';
// The module object itself (not a namespace copy), so that mock.method() changes what the core calls.
import fsModule, { type PathLike, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest } from '../../../src/core/catalog/manifest';
import { inspectDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { filesNotMatchingManifest, inodes } from '../../support/incremental';
import { fingerprintTree } from '../../support/treeCompare';

const SHM = '/dev/shm';

function failing(code: string): Error {
  return Object.assign(new Error(`${code}: simulated, link`), { code, syscall: 'link' });
}

/** Makes fs.linkSync throw `code` for the paths `when` picks (all by default). */
function failLinks(code: string, when: (existing: string) => boolean = () => true): void {
  const real = fsModule.linkSync;
  mock.method(fsModule, 'linkSync', (existing: PathLike, target: PathLike) => {
    if (when(String(existing))) {
      throw failing(code);
    }
    real(existing, target);
  });
}

async function onAnotherFileSystem(dir: string): Promise<boolean> {
  const [here, there] = await Promise.all([fs.stat(dir), fs.stat(SHM).catch(() => undefined)]);
  if (!there?.isDirectory() || there.dev === here.dev) {
    return false;
  }
  return fs.access(SHM, fsModule.constants.W_OK).then(
    () => true,
    () => false,
  );
}

describe('incremental hotcopy where hard links fail', () => {
  let tmp: string;
  let env: string;
  let first: string;
  let firstBefore: Map<string, string>;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    first = (await hotcopy(env, path.join(tmp, 'backups', 'b1'))).dest;
    firstBefore = await fingerprintTree(first);
  });
  afterEach(async () => {
    mock.restoreAll();
    assert.deepEqual(await fingerprintTree(first), firstBefore, 'the previous backup is untouched');
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  for (const code of ['EXDEV', 'EPERM', 'ENOTSUP', 'EISDIR']) {
    it(`copies every file on ${code}, and says so once`, async () => {
      failLinks(code);
      const notes: string[] = [];
      const result = await hotcopy(env, path.join(tmp, 'backups', `b-${code}`), {
        linkDest: first,
        onProgress: (event) => event.note && notes.push(event.note),
      });
      assert.equal(notes.length, 1, notes.join('\n'));
      assert.match(notes[0], new RegExp(`^linkFallback: ${code}: .*; files were copied instead$`));
      assert.equal(result.linkFallback, notes[0].slice('linkFallback: '.length));
      assert.deepEqual([result.incremental, result.linkedFiles, result.copiedFiles], [true, 0, result.files]);
      const manifest = await readManifest(result.dest);
      assert.equal(manifest?.linkFallback, result.linkFallback);
      assert.deepEqual(await filesNotMatchingManifest(result.dest, manifest), []);
      for (const [relative, file] of await inodes(result.dest)) {
        assert.equal(file.nlink, 1, relative);
      }
    });
  }

  it('copies just the file that has too many links (EMLINK) and links the others', async () => {
    const crowded = path.join(first, 'conf', 'trac.ini');
    failLinks('EMLINK', (existing) => existing === crowded);
    const notes: string[] = [];
    const result = await hotcopy(env, path.join(tmp, 'backups', 'b-emlink'), {
      linkDest: first,
      onProgress: (event) => event.note && notes.push(event.note),
    });
    assert.equal(notes.length, 1);
    assert.match(result.linkFallback ?? '', /^EMLINK: /);
    assert.deepEqual([result.copiedFiles, result.linkedFiles], [2, result.files - 2]);
    assert.equal((await inodes(result.dest)).get('conf/trac.ini')?.nlink, 1);
  });

  it('stops on a link error that copying would not cure, leaving nothing behind', async () => {
    failLinks('ENOSPC');
    const parent = path.join(tmp, 'full');
    await assert.rejects(hotcopy(env, path.join(parent, 'b'), { linkDest: first }), { code: 'DISK_FULL' });
    await assert.rejects(fs.readdir(parent), { code: 'ENOENT' }, 'the partial backup, or the folder made for it, is left');
  });

  it(`falls back to copying onto another file system (${SHM})`, async (t) => {
    if (!(await onAnotherFileSystem(tmp))) {
      t.skip(`${SHM} is not a separate writable file system here`);
      return;
    }
    const elsewhere = await fs.mkdtemp(path.join(SHM, 'trac-backup-test-'));
    try {
      const result = await hotcopy(env, path.join(elsewhere, 'b2'), { linkDest: first });
      assert.match(result.linkFallback ?? '', /^EXDEV: the previous backup is on another file system/);
      assert.deepEqual([result.linkedFiles, result.copiedFiles], [0, result.files]);
      assert.deepEqual(await filesNotMatchingManifest(result.dest, (await readManifest(result.dest))!), []);
      assert.equal(inspectDatabase(path.join(result.dest, 'db', 'trac.db')).integrity, 'ok');
    } finally {
      await removeTempDir(elsewhere);
    }
  });
});
