import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { recordVerification } from '../../../src/core/catalog/verificationStore';
import { restore } from '../../../src/core/restore/restore';
import { verifyBackup } from '../../../src/core/verify/verify';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { refusal } from '../../support/refusal';
import { sha256 } from '../../support/treeCompare';

const MB = 1024 * 1024;
const BIG = path.join('htdocs', 'big.bin');
const BIG_BYTES = 32 * MB;

/** Bytes this process has read so far, through any call and on any thread (rchar: page cache included). */
const bytesRead = () => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

/** A backup made, then verified (recorded as the CLI and the extension record it) once its files are old enough to be vouched for. */
async function verifiedBackup(env: string, dest: string): Promise<string> {
  const { dest: backup } = await hotcopy(env, dest);
  // A verification vouches for files changed more than 2 s before it began (see unchangedSinceVerified).
  await new Promise((resolve) => setTimeout(resolve, 2100));
  const verified = await verifyBackup(backup);
  assert.deepEqual(verified.problems, []);
  await recordVerification({ ...verified, backup });
  return backup;
}

describe('a restore of a verified or sealed backup reads its files once', () => {
  let tmp: string;
  let env: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    await fs.writeFile(path.join(env, BIG), randomBytes(BIG_BYTES));
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('checks the files unchanged since the verification by size, and the copy by what it wrote: no third read', async () => {
    const backup = await verifiedBackup(env, path.join(tmp, 'backups', 'verified'));
    const before = bytesRead();
    const restored = path.join(tmp, 'restored');
    const result = await restore(backup, restored);
    const read = bytesRead() - before;
    assert.equal(await sha256(path.join(restored, BIG)), await sha256(path.join(env, BIG)));
    // The copy through the kernel reads the file once, the hash of the copy once: 2×. The old
    // way read it three times (the check before, the copy, the check after).
    assert.ok(read < 2.5 * BIG_BYTES, `the restore read ${(read / MB).toFixed(1)} MB for ${result.bytes / MB} MB of files`);
  });

  it('reads each file of a backup never verified once too: its seal vouches for the files unchanged since it was made', async () => {
    const { dest: backup } = await hotcopy(env, path.join(tmp, 'backups', 'sealed'));
    const before = bytesRead();
    const restored = path.join(tmp, 'restored-sealed');
    const result = await restore(backup, restored);
    const read = bytesRead() - before;
    assert.equal(await sha256(path.join(restored, BIG)), await sha256(path.join(env, BIG)));
    assert.ok(read < 2.5 * BIG_BYTES, `the restore read ${(read / MB).toFixed(1)} MB for ${result.bytes / MB} MB of files`);
  });

  for (const made of ['verified', 'sealed'] as const) {
    it(`still reads, and refuses, a file of a ${made} backup changed since (even with its mtime and mode put back)`, async () => {
      const backup =
        made === 'verified'
          ? await verifiedBackup(env, path.join(tmp, 'backups', 'tampered'))
          : (await hotcopy(env, path.join(tmp, 'backups', 'tampered-sealed'))).dest;
      await tamper(path.join(backup, BIG));
      const restored = path.join(tmp, `restored-tampered-${made}`);
      await assert.rejects(restore(backup, restored), refusal('BACKUP_DAMAGED', backup, BIG.split(path.sep).join('/')));
      await assert.rejects(fs.lstat(restored), { code: 'ENOENT' });
    });
  }
});

/** Eight bytes in the middle of the file rewritten, its mode and times put back. */
async function tamper(file: string): Promise<void> {
  const stats = await fs.stat(file);
  await fs.chmod(file, 0o644);
  const handle = await fs.open(file, 'r+');
  await handle.write(Buffer.from('tampered'), 0, 8, BIG_BYTES / 2);
  await handle.close();
  await fs.chmod(file, stats.mode & 0o7777);
  await fs.utimes(file, stats.atime, stats.mtime);
}
