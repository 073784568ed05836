import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { refusal } from '../../support/refusal';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { fingerprintTree } from '../../support/treeCompare';
import { mountTmpfs, unmountTmpfs } from '../../support/tmpfs';

/** Bytes of the regular files under `dir`. */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      total += (await fs.stat(path.join(entry.parentPath, entry.name))).size;
    }
  }
  return total;
}

describe('hotcopy refuses', () => {
  let tmp: string;
  let env: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('a folder that is not a Trac environment', async () => {
    const plain = path.join(tmp, 'plain');
    await fs.mkdir(plain);
    await assert.rejects(hotcopy(plain, path.join(tmp, 'out-plain')), refusal('NOT_AN_ENVIRONMENT', plain, 'VERSION'));
    await assert.rejects(fs.access(path.join(tmp, 'out-plain')), { code: 'ENOENT' });
  });

  it('a PostgreSQL server that cannot be reached, or a database kind it does not know, but backs up its files with includeDatabase: false', async () => {
    const pg = await copyFixture('trac-1.6-populated', 'pg', path.join(tmp, 'server'));
    const ini = path.join(pg, 'conf', 'trac.ini');
    const text = await fs.readFile(ini, 'utf8');
    await fs.writeFile(ini, text.replace('database = sqlite:db/trac.db', 'database = postgres://trac:secret@127.0.0.1:1/trac'));
    await assert.rejects(
      hotcopy(pg, path.join(tmp, 'server', 'out')),
      (error: Error) =>
        refusal('SERVER_UNREACHABLE', "Can't reach the PostgreSQL server 127.0.0.1:1")(error) && !error.message.includes('secret'),
    );
    await fs.writeFile(ini, text.replace('database = sqlite:db/trac.db', 'database = oracle://trac:secret@db.example:5432/trac'));
    await assert.rejects(
      hotcopy(pg, path.join(tmp, 'server', 'out')),
      (error: Error) =>
        refusal('DATABASE_UNSUPPORTED', pg, 'not supported yet', 'oracle://db.example:5432/trac')(error) &&
        !error.message.includes('secret'),
    );
    const result = await hotcopy(pg, path.join(tmp, 'server', 'files-only'), { includeDatabase: false });
    assert.equal(result.databaseIncluded, false);
    assert.equal(result.lockMs, 0);
  });

  it('a missing database file', async () => {
    const missing = await copyFixture('trac-1.6-populated', 'missing', path.join(tmp, 'missing'));
    await fs.rm(path.join(missing, 'db', 'trac.db'));
    await assert.rejects(
      hotcopy(missing, path.join(tmp, 'missing', 'out')),
      refusal('DATABASE_MISSING', path.join(missing, 'db', 'trac.db')),
    );
  });

  it('a database file that is not SQLite', async () => {
    const broken = await copyFixture('trac-1.6-populated', 'broken', path.join(tmp, 'broken'));
    await fs.writeFile(path.join(broken, 'db', 'trac.db'), 'not a database at all');
    await assert.rejects(hotcopy(broken, path.join(tmp, 'broken', 'out')), refusal('DATABASE_UNREADABLE', 'not an SQLite database'));
    assert.deepEqual(await fs.readdir(path.join(tmp, 'broken')), ['broken']);
  });

  for (const kind of ['folder with files', 'empty folder', 'file', 'dangling link']) {
    it(`an existing destination (${kind}), leaving it untouched`, async () => {
      const parent = path.join(tmp, `exists-${kind.replace(/ /g, '-')}`);
      const dest = path.join(parent, 'backup');
      await fs.mkdir(parent);
      if (kind === 'folder with files') {
        await fs.mkdir(dest);
        await fs.writeFile(path.join(dest, 'precious.txt'), 'keep me');
      } else if (kind === 'empty folder') {
        await fs.mkdir(dest);
      } else if (kind === 'file') {
        await fs.writeFile(dest, 'keep me');
      } else {
        await fs.symlink('nowhere', dest);
      }
      const before = await fingerprintTree(parent);
      const stats = await fs.lstat(dest);
      await assert.rejects(hotcopy(env, dest), refusal('DESTINATION_EXISTS', `can't overwrite existing '${dest}'`));
      assert.deepEqual(await fingerprintTree(parent), before);
      assert.equal((await fs.lstat(dest)).mtimeMs, stats.mtimeMs);
    });
  }

  it('a destination inside the environment, even through a symbolic link', async () => {
    const before = await fingerprintTree(env);
    await assert.rejects(hotcopy(env, path.join(env, 'backups', 'b1')), refusal('DESTINATION_INSIDE_SOURCE', env));
    await assert.rejects(hotcopy(env, env), refusal('DESTINATION_INSIDE_SOURCE'));
    await fs.symlink(path.join(env, 'htdocs'), path.join(tmp, 'sneaky'));
    await assert.rejects(hotcopy(env, path.join(tmp, 'sneaky', 'b2')), refusal('DESTINATION_INSIDE_SOURCE'));
    assert.deepEqual(await fingerprintTree(env), before, 'nothing was written into the environment');
  });

  it('a destination that contains the environment', async () => {
    await assert.rejects(hotcopy(env, tmp), refusal('SOURCE_INSIDE_DESTINATION', tmp));
  });

  it('a destination under a file', async () => {
    const file = path.join(tmp, 'a-file');
    await fs.writeFile(file, 'x');
    await assert.rejects(hotcopy(env, path.join(file, 'sub', 'backup')), refusal('DESTINATION_UNWRITABLE', file));
  });

  it('a full disk: removes the partial backup and says so', async () => {
    // A real disk that fills up during the copy: a tmpfs smaller than the environment. Files are
    // copied through the kernel (fs.copyFile), so the failure is the kernel's, not a mocked write's.
    const disk = await mountTmpfs(path.join(tmp, 'small-disk'), Math.floor((await treeBytes(env)) / 2));
    try {
      const parent = path.join(disk, 'full');
      const dest = path.join(parent, 'backup');
      await assert.rejects(hotcopy(env, dest), refusal('DISK_FULL', dest, 'full', 'removed'));
      await assert.rejects(fs.readdir(parent), { code: 'ENOENT' }, 'the partial backup, or the folder made for it, is left');
      assert.deepEqual(await fs.readdir(disk), []);
    } finally {
      unmountTmpfs(disk);
    }
  });
});
