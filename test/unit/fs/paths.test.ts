import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpellingLookup, expandHome, onDiskSpelling, pathKey, samePathKey } from '../../../src/core/fs/paths';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest } from '../../../src/core/catalog/manifest';
import { inspectDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

describe('paths', () => {
  it('expands ~ with the home folder, which does not need HOME (unset on Windows)', () => {
    assert.equal(expandHome('~/backups', '/home/ann'), '/home/ann/backups');
    assert.equal(expandHome('~', '/home/ann'), '/home/ann');
    assert.equal(expandHome('~\\backups', 'C:\\Users\\ann'), 'C:\\Users\\ann\\backups');
    assert.equal(expandHome('~ann/backups', '/home/bob'), '~ann/backups', "another user's ~ is left as it is");
    assert.equal(expandHome('/srv/~/x', '/home/ann'), '/srv/~/x');
    const home = process.env.HOME;
    delete process.env.HOME;
    try {
      assert.equal(expandHome('~/backups'), `${os.homedir()}/backups`);
      assert.ok(!expandHome('~/backups').startsWith('~'));
    } finally {
      process.env.HOME = home;
    }
  });
});

describe('one identity for a path (pathKey)', () => {
  it('on Windows: the drive letter and the case do not matter, nor do separators and dots', () => {
    const win = { platform: 'win32' as const };
    assert.equal(pathKey('c:\\Trac\\Project', win), 'c:\\trac\\project');
    assert.ok(samePathKey('c:\\Trac\\Project', 'C:\\trac\\project\\', win), "VS Code's c:\\ and a setting's C:\\");
    assert.ok(samePathKey('C:/Trac/./db/../Project', 'C:\\TRAC\\PROJECT', win));
    assert.ok(!samePathKey('C:\\Trac\\Project', 'D:\\Trac\\Project', win));
    assert.equal(pathKey('c:\\Trac', { platform: 'win32', caseInsensitive: false }), 'C:\\Trac', 'a case-sensitive folder keeps its case');
  });

  it('on macOS case is folded (default volumes), on Linux it is not', () => {
    assert.ok(samePathKey('/Users/ann/Trac', '/users/ann/trac', { platform: 'darwin' }));
    assert.ok(samePathKey('/srv/Caf\u00e9', '/srv/cafe\u0301', { platform: 'darwin' }), 'composed and decomposed accents');
    assert.ok(!samePathKey('/srv/Trac', '/srv/trac', { platform: 'linux' }));
    assert.ok(samePathKey('/srv/trac/', '/srv//trac', { platform: 'linux' }));
  });
});

describe("trac.ini's spelling of the database against the folder's (onDiskSpelling)", () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
    await fs.mkdir(path.join(tmp, 'env', 'db'), { recursive: true });
    await fs.writeFile(path.join(tmp, 'env', 'db', 'trac.db'), 'x');
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  /** This folder as a case-insensitive volume (Windows, macOS) would answer: a name in another case finds the file. */
  const caseInsensitive: SpellingLookup = {
    readdir: (dir) => fs.readdir(dir),
    lstat: async (file) => {
      const dir = path.dirname(file);
      const names = await fs.readdir(dir);
      const name = names.find((candidate) => candidate.toLowerCase() === path.basename(file).toLowerCase());
      return fs.lstat(path.join(dir, name ?? path.basename(file)));
    },
  };

  it('on a case-insensitive volume, db/Trac.db is the db/trac.db a walk lists', async () => {
    assert.equal(await onDiskSpelling(path.join(tmp, 'env'), 'DB/Trac.db', caseInsensitive), 'db/trac.db');
    assert.equal(await onDiskSpelling(path.join(tmp, 'env'), 'db/trac.db', caseInsensitive), 'db/trac.db');
    assert.equal(await onDiskSpelling(path.join(tmp, 'env'), 'db/other.db', caseInsensitive), 'db/other.db', 'a missing file as given');
    assert.equal(await onDiskSpelling(path.join(tmp, 'env'), 'new/sub/x.db', caseInsensitive), 'new/sub/x.db');
  });

  it('on a case-sensitive volume (this one), db/Trac.db is another file, kept as given', async () => {
    assert.equal(await onDiskSpelling(path.join(tmp, 'env'), 'db/Trac.db'), 'db/Trac.db');
    assert.equal(await onDiskSpelling(path.join(tmp, 'env'), 'db/trac.db'), 'db/trac.db');
  });
});

describe('a backup where trac.ini spells the database in another case', () => {
  let tmp: string;
  let caseInsensitiveVolume = false;
  before(async () => {
    tmp = await makeTempDir();
    await fs.writeFile(path.join(tmp, 'Probe'), '');
    caseInsensitiveVolume = await fs.access(path.join(tmp, 'probe')).then(
      () => true,
      () => false,
    );
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  // Real only on a case-insensitive volume (macOS, Windows: .github/workflows/windows-macos.yml);
  // this kernel has neither ext4's casefold (CONFIG_UNICODE) nor XFS's ascii-ci to make one.
  it('takes the live database once, as its snapshot, never copied raw', async (t) => {
    if (!caseInsensitiveVolume) {
      t.skip('the temporary folder is on a case-sensitive volume');
      return;
    }
    const env = await copyFixture('trac-1.6-populated', 'env', tmp);
    const ini = path.join(env, 'conf', 'trac.ini');
    await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('sqlite:db/trac.db', 'sqlite:db/Trac.db'));
    const { dest } = await hotcopy(env, path.join(tmp, 'backups', 'b1'));
    const manifest = await readManifest(dest);
    const databases = manifest!.entries.filter((entry) => entry.path.toLowerCase().startsWith('db/trac.db'));
    assert.deepEqual(
      databases.map((entry) => entry.path),
      ['db/trac.db'],
    );
    assert.equal(inspectDatabase(path.join(dest, 'db', 'trac.db')).integrity, 'ok');
  });
});
