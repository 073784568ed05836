import * as assert from 'node:assert/strict';
import { promises as fs, lstatSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { withExtractedArchive } from '../../../src/core/archive/extractArchive';
import { walkTreeSync } from '../../../src/core/fs/fileTree';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { restore } from '../../../src/core/restore/restore';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

/** The web server's user on Debian: who a Trac environment served by Apache or tracd belongs to. */
const WWW_DATA = { uid: 33, gid: 33 };
const OTHER = { uid: 1234, gid: 1234 };
const ME = { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };

/** Every entry whose owner is not `expected`. */
function ownersOtherThan(
  root: string,
  expected: { uid: number; gid: number },
  except: (relative: string) => boolean = () => false,
): string[] {
  const odd: string[] = [];
  for (const entry of ['', ...walkTreeSync(root).map((item) => item.relative)]) {
    const stats = lstatSync(path.join(root, entry));
    if (!except(entry) && (stats.uid !== expected.uid || stats.gid !== expected.gid)) {
      odd.push(`${entry || '.'} ${stats.uid}:${stats.gid}`);
    }
  }
  return odd;
}

async function chownTree(root: string, owner: { uid: number; gid: number }): Promise<void> {
  for (const entry of ['', ...walkTreeSync(root).map((item) => item.relative)]) {
    await fs.lchown(path.join(root, entry), owner.uid, owner.gid);
  }
}

describe(
  'owners: an environment that belongs to the web server stays its, through backup, restore and archives',
  { skip: ME.uid !== 0 && 'giving files to another user needs root (CI runs as root)' },
  () => {
    let tmp: string;
    let env: string;
    before(async () => {
      tmp = await makeTempDir();
      env = await copyFixture('trac-1.6-populated', 'env', tmp);
      await fs.symlink('../README', path.join(env, 'htdocs', 'readme-link'));
      await chownTree(env, WWW_DATA);
    });
    after(async () => {
      await removeTempDir(tmp);
    });

    it('a hotcopy run as root gives every file, folder, link and the database snapshot the source’s owner', async () => {
      const { dest } = await hotcopy(env, path.join(tmp, 'backups', 'full'));
      assert.deepEqual(ownersOtherThan(dest, WWW_DATA), []);
      assert.equal(lstatSync(path.join(dest, 'db', 'trac.db')).uid, WWW_DATA.uid);
    });

    it('keepOwners: false leaves the copies to whoever runs it, like cp without -a', async () => {
      const { dest } = await hotcopy(env, path.join(tmp, 'backups', 'mine'), { keepOwners: false });
      assert.deepEqual(ownersOtherThan(dest, ME), []);
    });

    it('an incremental backup copies a file whose owner changed instead of linking it', async () => {
      const attachments = walkTreeSync(env, 'files').filter((entry) => entry.kind === 'file');
      const changed = attachments[0].relative;
      await fs.lchown(path.join(env, changed), OTHER.uid, OTHER.gid);
      try {
        const result = await hotcopy(env, path.join(tmp, 'backups', 'incremental'), { linkDest: path.join(tmp, 'backups', 'full') });
        assert.equal(lstatSync(path.join(result.dest, changed)).uid, OTHER.uid);
        assert.notEqual(lstatSync(path.join(result.dest, changed)).ino, lstatSync(path.join(tmp, 'backups', 'full', changed)).ino);
        assert.equal(
          lstatSync(path.join(result.dest, attachments[1].relative)).ino,
          lstatSync(path.join(tmp, 'backups', 'full', attachments[1].relative)).ino,
        );
        assert.deepEqual(
          ownersOtherThan(result.dest, WWW_DATA, (relative) => relative === changed),
          [],
        );
      } finally {
        await fs.lchown(path.join(env, changed), WWW_DATA.uid, WWW_DATA.gid);
      }
    });

    it('a restore run as root gives the restored environment the owners the backup holds, and the folders it makes too', async () => {
      const target = path.join(tmp, 'restored');
      await restore(path.join(tmp, 'backups', 'full'), target);
      assert.deepEqual(ownersOtherThan(target, WWW_DATA), []);

      const lacking = path.join(tmp, 'backups', 'lacking-log');
      await fs.cp(path.join(tmp, 'backups', 'full'), lacking, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      await chownTree(lacking, WWW_DATA);
      await fs.rm(path.join(lacking, 'log'), { recursive: true });
      await fs.rm(path.join(lacking, '.trac-backup.json'));
      const result = await restore(lacking, path.join(tmp, 'restored-without-log'));
      assert.deepEqual(result.madeFolders, ['log']);
      assert.deepEqual(ownersOtherThan(result.env, WWW_DATA), []);
    });

    it('an archive keeps the owners, and restoring from it as root puts them back', async () => {
      const { archive } = await exportArchive(path.join(tmp, 'backups', 'full'), path.join(tmp, 'full.tar.gz'));
      const target = path.join(tmp, 'from-archive');
      await withExtractedArchive(
        archive,
        async (root) => {
          assert.deepEqual(ownersOtherThan(root, WWW_DATA), [], 'the unpacked archive lost its owners');
          await restore(root, target);
        },
        { tempParent: tmp },
      );
      assert.deepEqual(ownersOtherThan(target, WWW_DATA), []);
    });
  },
);
