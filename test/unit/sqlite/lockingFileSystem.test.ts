import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lockingWarning, unreliableLockingKind } from '../../../src/core/sqlite/lockingFileSystem';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

describe("file systems where SQLite's locks may not hold", () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it("are the network ones, WSL 2's 9p, Docker Desktop's virtiofs and FUSE mounts, by statfs type", () => {
    assert.equal(unreliableLockingKind(0x6969), 'NFS');
    assert.equal(unreliableLockingKind(0xff534d42), 'SMB (CIFS)');
    assert.equal(unreliableLockingKind(-11317950), 'SMB (CIFS)', 'a signed f_type as some platforms give it');
    assert.match(unreliableLockingKind(0x01021997) ?? '', /^9p \(WSL 2/);
    assert.match(unreliableLockingKind(0x6a656a63) ?? '', /^virtiofs \(Docker Desktop/);
    assert.match(unreliableLockingKind(0x65735546) ?? '', /^FUSE/);
    for (const local of [0xef53 /* ext4 */, 0x58465342 /* xfs */, 0x01021994 /* tmpfs */, 0x9123683e /* btrfs */]) {
      assert.equal(unreliableLockingKind(local), undefined);
    }
  });

  it('a local disk gets no warning, and neither does its backup', async () => {
    const env = await copyFixture('trac-1.6-fresh', 'env', tmp);
    const type = (await fs.statfs(path.join(env, 'db'))).type;
    assert.equal(unreliableLockingKind(type), undefined, `this test's folder is on a local file system (type ${type.toString(16)})`);
    assert.equal(await lockingWarning(path.join(env, 'db', 'trac.db')), undefined);
    const result = await hotcopy(env, path.join(tmp, 'backups', 'b1'));
    assert.equal(result.lockingWarning, undefined);
  });
});
