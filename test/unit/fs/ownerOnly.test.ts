import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { modeKeepsOthersOut, ownerOnlyWarning } from '../../../src/core/fs/ownerOnly';
import { setFsRetrySeam } from '../../../src/core/fs/retry';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

describe('owner-only files (0600 archives, 0700 unpack folders) and Windows', () => {
  let tmp: string;
  let backup: string;
  before(async () => {
    tmp = await makeTempDir();
    const env = await copyFixture('trac-1.6-fresh', 'env', tmp);
    backup = (await hotcopy(env, path.join(tmp, 'backups', 'b1'))).dest;
  });
  afterEach(() => setFsRetrySeam(undefined));
  after(async () => {
    await removeTempDir(tmp);
  });

  it('the mode keeps others out on POSIX only: Windows gives a new file its folder’s permissions (ACL)', () => {
    assert.equal(modeKeepsOthersOut('linux'), true);
    assert.equal(modeKeepsOthersOut('darwin'), true);
    assert.equal(modeKeepsOthersOut('win32'), false);
  });

  it('on Windows an archive says it has its folder’s permissions and what to do; an unpack folder and the password file say nothing', () => {
    const archive = 'D:\\Shared\\exports\\trac.tar.gz';
    const warning = ownerOnlyWarning('archive', archive, 'win32');
    assert.ok(warning);
    assert.match(warning, /^D:\\Shared\\exports\\trac\.tar\.gz holds the whole Trac database/);
    assert.match(warning, /it has the permissions of D:\\Shared\\exports\./);
    assert.match(warning, /Keep archives in a folder only you can read/);
    // Beside the environment, it inherits what the environment's folder (with its database) allows.
    assert.equal(ownerOnlyWarning('unpack folder', 'C:\\trac\\.env.tar.gz.unpack-1-x', 'win32'), undefined);
    // Under the user's own temporary folder.
    assert.equal(
      ownerOnlyWarning('password file', 'C:\\Users\\me\\AppData\\Local\\Temp\\trac-backup-restic-x\\password', 'win32'),
      undefined,
    );
    assert.equal(ownerOnlyWarning('archive', '/srv/exports/trac.tar.gz', 'linux'), undefined);
  });

  it('an export is 0600 on POSIX and says nothing; on Windows, real or played, its result carries the warning', async () => {
    const here = await exportArchive(backup, path.join(tmp, 'exports', 'here.tar.gz'));
    if (process.platform === 'win32') {
      assert.ok(here.permissionsWarning?.startsWith(`${here.archive} holds the whole Trac database`), here.permissionsWarning);
    } else {
      assert.equal(here.permissionsWarning, undefined);
      assert.equal((await fs.stat(here.archive)).mode & 0o777, 0o600);
    }

    setFsRetrySeam({ platform: 'win32' });
    const onWindows = await exportArchive(backup, path.join(tmp, 'exports', 'windows.tar.gz'));
    setFsRetrySeam(undefined);
    assert.ok(onWindows.permissionsWarning?.startsWith(`${onWindows.archive} holds the whole Trac database`), onWindows.permissionsWarning);
  });
});
