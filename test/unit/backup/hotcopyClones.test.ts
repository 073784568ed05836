import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { restore } from '../../../src/core/restore/restore';
import { verifyBackup } from '../../../src/core/verify/verify';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { mountTmpfs, unmountTmpfs } from '../../support/tmpfs';
import { XfsDisk, mountXfs, physicalExtents, unmountXfs, usedBytes } from '../../support/xfs';
import { sha256 } from '../../support/treeCompare';

const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const MB = 1024 * 1024;
/** A large file of the environment (random, so that nothing could compress or deduplicate it). */
const BIG = 'htdocs/big.bin';
const BIG_BYTES = 48 * MB;

describe('copy-on-write clones (a loop-mounted XFS with reflink)', () => {
  let tmp: string;
  let xfs: XfsDisk | string;
  let env: string;
  let bigSha: string;
  before(async () => {
    tmp = await makeTempDir();
    xfs = await mountXfs(path.join(tmp, 'xfs'));
    if (typeof xfs === 'string') {
      return;
    }
    env = await copyFixture('trac-1.6-populated', 'env', xfs.mount);
    const content = randomBytes(BIG_BYTES);
    bigSha = digest(content);
    await fs.writeFile(path.join(env, ...BIG.split('/')), content);
  });
  after(async () => {
    await unmountXfs(xfs);
    await removeTempDir(tmp);
  });

  it('a backup on the same XFS shares the environment’s blocks, verifies, and restores as clones too', async (t) => {
    if (typeof xfs === 'string') {
      t.skip(`no XFS to test on: ${xfs}`);
      return;
    }
    const backups = path.join(xfs.mount, 'backups');
    await fs.mkdir(backups);
    const usedBefore = await usedBytes(xfs.mount);
    const result = await hotcopy(env, path.join(backups, 'full'));
    const newlyUsed = (await usedBytes(xfs.mount)) - usedBefore;

    assert.ok(result.clonedFiles >= result.files - 2, `only ${result.clonedFiles} of ${result.files} files were cloned`);
    assert.ok(result.clonedBytes >= BIG_BYTES);
    const source = path.join(env, ...BIG.split('/'));
    const backedUp = path.join(result.dest, ...BIG.split('/'));
    assert.deepEqual(physicalExtents(backedUp), physicalExtents(source), 'the backup’s big file does not share the environment’s extents');
    // The database snapshot and the metadata are written anew; everything else is shared.
    assert.ok(newlyUsed < 0.05 * result.bytes, `the backup newly takes ${newlyUsed} bytes of ${result.bytes}`);
    assert.equal(await sha256(backedUp), bigSha);

    const verified = await verifyBackup(result.dest);
    assert.deepEqual(verified.problems, []);

    const usedBeforeRestore = await usedBytes(xfs.mount);
    const restored = path.join(xfs.mount, 'restored');
    await restore(result.dest, restored);
    assert.equal(await sha256(path.join(restored, ...BIG.split('/'))), bigSha);
    assert.deepEqual(physicalExtents(path.join(restored, ...BIG.split('/'))), physicalExtents(source));
    const restoreUsed = (await usedBytes(xfs.mount)) - usedBeforeRestore;
    assert.ok(restoreUsed < 0.05 * result.bytes, `the restore newly takes ${restoreUsed} bytes of ${result.bytes}`);

    // A change to the environment after the backup does not reach the clone (copy on write).
    await fs.appendFile(source, 'more');
    assert.equal(await sha256(backedUp), bigSha);
  });

  it('an incremental backup still hard-links unchanged files (cheaper than a clone)', async (t) => {
    if (typeof xfs === 'string') {
      t.skip(`no XFS to test on: ${xfs}`);
      return;
    }
    const backups = path.join(xfs.mount, 'incremental');
    const full = await hotcopy(env, path.join(backups, 'one'));
    const next = await hotcopy(env, path.join(backups, 'two'), { linkDest: full.dest });
    assert.ok(next.linkedFiles >= next.files - 3, `${next.linkedFiles} of ${next.files} linked`);
    const a = await fs.stat(path.join(full.dest, 'VERSION'));
    const b = await fs.stat(path.join(next.dest, 'VERSION'));
    assert.equal(a.ino, b.ino);
  });

  it('falls back to copying, silently, onto a file system without clones (tmpfs)', async (t) => {
    if (typeof xfs === 'string') {
      t.skip(`no XFS to test on: ${xfs}`);
      return;
    }
    const disk = await mountTmpfs(path.join(tmp, 'tmpfs'), 128 * MB);
    try {
      const result = await hotcopy(env, path.join(disk, 'backup'));
      assert.equal(result.clonedFiles, 0);
      assert.equal(result.clonedBytes, 0);
      assert.equal(await sha256(path.join(result.dest, ...BIG.split('/'))), await sha256(path.join(env, ...BIG.split('/'))));
      assert.deepEqual((await verifyBackup(result.dest)).problems, []);
    } finally {
      unmountTmpfs(disk);
    }
  });
});
