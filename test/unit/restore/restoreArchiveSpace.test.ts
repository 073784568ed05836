import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest } from '../../../src/core/catalog/manifest';
import type { RestoreResult } from '../../../src/core/restore/restore';
import { runCliCaptured } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { expectedRestore } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';

const isRoot = process.getuid?.() === 0;
const MIB = 1024 * 1024;

/**
 * A restore from an archive unpacks it beside the environment and moves the unpacked tree into
 * place: the environment's disk needs room for one copy of the backup, not two (unpacked, then
 * copied). The archive itself is on another disk here.
 */
describe('restore from an archive needs room for one copy of the backup', { skip: !isRoot && 'mounts a tmpfs (CI runs as root)' }, () => {
  let tmp: string;
  let small: string;
  let mounted = false;
  before(async () => {
    tmp = await makeTempDir();
    small = path.join(tmp, 'small-disk');
    await fs.mkdir(small);
  });
  after(async () => {
    if (mounted) {
      execFileSync('umount', [small]);
    }
    await removeTempDir(tmp);
  });

  it('restores onto a disk with room for 1.6 times the backup (unpack, then move)', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', tmp);
    await fs.writeFile(path.join(env, 'htdocs', 'big.bin'), randomBytes(8 * MIB));
    const backup = (await hotcopy(env, path.join(tmp, 'backups', 'b1'))).dest;
    const archive = (await exportArchive(backup, path.join(tmp, 'b1.tar.gz'))).archive;
    const manifest = await readManifest(backup);
    // Every file takes whole 4 KiB pages on a tmpfs.
    const pages = (manifest?.entries ?? []).reduce((sum, entry) => sum + (entry.type === 'file' ? Math.ceil(entry.size / 4096) + 1 : 1), 0);
    const size = Math.ceil((pages * 4096 * 1.6) / 1024);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}k`, 'tmpfs', small]);
    mounted = true;
    const target = path.join(small, 'restored');

    const run = await runCliCaptured(['restore', archive, target, '--json']);

    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as RestoreResult;
    assert.equal(result.env, target);
    assert.equal(result.backup, archive);
    assert.deepEqual(await fingerprintTree(target), await expectedRestore(backup));
    assert.deepEqual(await fs.readdir(small), ['restored'], 'nothing unpacked is left');
  });
});
