import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { backupsDiskUsage } from '../../../src/core/catalog/diskUsage';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest } from '../../../src/core/catalog/manifest';
import { deleteBackup, pruneBackups } from '../../../src/core/catalog/prune';
import { makeBackupChain, redate } from '../../support/backupChain';
import { inspectDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { filesNotMatchingManifest } from '../../support/incremental';
import { compareTrees, fingerprintTree } from '../../support/treeCompare';

const local = (day: number, hour: number) => new Date(2024, 0, day, hour);
const notCopied = (relative: string) => relative.startsWith('db/trac.db') || relative === MANIFEST_FILE;

describe('pruneBackups', () => {
  let tmp: string;
  let env: string;
  let other: string;
  let folder: string;
  let chain: string[];
  let otherBackup: string;
  const bystanders = ['env.before-restore-20240101-000000', 'plain-copy', 'damaged', 'not-a-backup', 'notes.txt', 'linked-backup'];

  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    other = await copyFixture('trac-1.6-fresh', 'other', tmp);
    folder = path.join(tmp, 'backups');
    chain = await makeBackupChain(env, folder, [local(1, 12), local(2, 12), local(2, 18), local(3, 12)]);
    otherBackup = (await hotcopy(other, path.join(folder, 'other-20240101-120000'))).dest;
    await redate(otherBackup, local(1, 12));
    await copyFixture('trac-1.6-fresh', 'env.before-restore-20240101-000000', folder);
    await copyFixture('trac-1.6-fresh', 'plain-copy', folder);
    await fs.mkdir(path.join(folder, 'damaged'));
    await fs.writeFile(path.join(folder, 'damaged', MANIFEST_FILE), '{ not json');
    await fs.mkdir(path.join(folder, 'not-a-backup'));
    await fs.writeFile(path.join(folder, 'not-a-backup', 'keep.txt'), 'mine');
    await fs.writeFile(path.join(folder, 'notes.txt'), 'notes');
    const elsewhere = (await hotcopy(env, path.join(tmp, 'elsewhere', 'env-copy'))).dest;
    await fs.symlink(elsewhere, path.join(folder, 'linked-backup'));
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('counts hard-linked files once in the disk usage, and gives each backup its own bytes', async () => {
    const usage = await backupsDiskUsage(chain);
    const sizes = async (backup: string, ...relatives: string[]) =>
      (await Promise.all(relatives.map((relative) => fs.stat(path.join(backup, relative))))).reduce((sum, stats) => sum + stats.size, 0);
    // The first backup whole, then each later one's database, metadata and new attachment.
    let expectedTotal = usage.backups[0].bytes;
    for (const [index, backup] of chain.entries()) {
      if (index > 0) {
        expectedTotal += await sizes(
          backup,
          MANIFEST_FILE,
          'db/trac.db',
          attachmentRelativePath('ticket', String(1 + index), `between-${index}.txt`),
        );
      }
    }
    assert.equal(usage.totalBytes, expectedTotal);
    assert.ok(usage.totalBytes < usage.backups.reduce((sum, backup) => sum + backup.bytes, 0));
    const last = chain.length - 1;
    for (const [index, backup] of chain.entries()) {
      const own = [MANIFEST_FILE, 'db/trac.db'];
      if (index === last) {
        // Its new attachment is in no later backup.
        own.push(attachmentRelativePath('ticket', String(1 + index), `between-${index}.txt`));
      }
      const expected = await sizes(backup, ...own);
      assert.ok(usage.backups[index].uniqueBytes >= expected, `backup ${index}: ${usage.backups[index].uniqueBytes} >= ${expected}`);
      assert.ok(usage.backups[index].uniqueBytes < expected + 200, `backup ${index}: only its own files`);
    }
    const first = usage.backups[0];
    assert.equal(first.bytes, (await readManifest(chain[0]))!.bytes + (await sizes(chain[0], MANIFEST_FILE)));
    const missing = await backupsDiskUsage([path.join(tmp, 'gone')]);
    assert.equal(missing.backups[0].problem, 'ENOENT');
  });

  it('plans without deleting on a dry run, counting each environment on its own', async () => {
    const before = await fs.readdir(folder);
    const result = await pruneBackups(folder, { keepLast: 1, keepDaily: 2 }, { dryRun: true });
    assert.deepEqual(await fs.readdir(folder), before);
    assert.deepEqual(
      result.remove.map(({ backup }) => backup.name),
      ['env-20240102-120000', 'env-20240101-120000'],
    );
    const kept = new Map(result.keep.map(({ backup, reasons }) => [backup.name, reasons]));
    assert.deepEqual(kept.get('env-20240103-120000'), ['last (1 of 1)', 'daily 2024-01-03 (1 of 2)']);
    assert.deepEqual(kept.get('env-20240102-180000'), ['daily 2024-01-02 (2 of 2)']);
    assert.deepEqual(kept.get('other-20240101-120000'), ['last (1 of 1)', 'daily 2024-01-01 (1 of 2)']);
    assert.match(kept.get('env.before-restore-20240101-000000')?.[0] ?? '', /without trac-backup metadata|before a restore/);
    assert.match(kept.get('plain-copy')?.[0] ?? '', /without trac-backup metadata/);
    assert.match(kept.get('damaged')?.[0] ?? '', /metadata cannot be read/);
    assert.match(kept.get('linked-backup')?.[0] ?? '', /link to a folder elsewhere/);
    assert.equal(kept.has('not-a-backup'), false, 'what is not a backup is not even listed');
    assert.deepEqual([result.dryRun, result.removed], [true, []]);
  });

  it('only looks at one environment when asked', async () => {
    const result = await pruneBackups(folder, { keepLast: 1 }, { dryRun: true, environment: other });
    assert.deepEqual(
      result.keep.map(({ backup }) => backup.name),
      ['other-20240101-120000'],
    );
    assert.deepEqual(result.remove, []);
  });

  it('deletes what no rule keeps, leaving the backups that share its files whole and restorable', async () => {
    const untouched = new Map<string, Map<string, string>>();
    for (const name of [...bystanders.filter((name) => name !== 'notes.txt' && name !== 'linked-backup'), 'other-20240101-120000']) {
      untouched.set(name, await fingerprintTree(path.join(folder, name)));
    }

    const result = await pruneBackups(folder, { keepLast: 1, keepDaily: 2 });

    assert.deepEqual(
      result.removed.map((removed) => path.basename(removed)),
      ['env-20240101-120000', 'env-20240102-120000'],
    );
    assert.deepEqual(result.failed, []);
    const left = (await fs.readdir(folder)).sort();
    assert.deepEqual(left, [...bystanders, 'env-20240102-180000', 'env-20240103-120000', 'other-20240101-120000'].sort());
    for (const [name, fingerprint] of untouched) {
      assert.deepEqual(await fingerprintTree(path.join(folder, name)), fingerprint, `${name} is untouched`);
    }
    for (const name of ['env-20240102-180000', 'env-20240103-120000']) {
      const backup = path.join(folder, name);
      assert.deepEqual(await filesNotMatchingManifest(backup, (await readManifest(backup))!), [], name);
      assert.equal(inspectDatabase(path.join(backup, 'db', 'trac.db')).integrity, 'ok', name);
    }
    assert.deepEqual(await compareTrees(env, path.join(folder, 'env-20240103-120000'), notCopied, { ignoreWriteBits: true }), []);
  });

  it('deletes only what was confirmed from a dry run', async () => {
    const shown = await pruneBackups(folder, { keepLast: 1 }, { dryRun: true, environment: env });
    assert.deepEqual(
      shown.remove.map(({ backup }) => backup.name),
      ['env-20240102-180000'],
    );
    const result = await pruneBackups(folder, { keepLast: 1 }, { environment: env, confirmed: [] });
    assert.deepEqual([result.remove.length, result.removed], [1, []], 'planned, but not confirmed: kept');
    assert.ok((await fs.readdir(folder)).includes('env-20240102-180000'));
  });

  it('never deletes everything, whatever the rule', async () => {
    const result = await pruneBackups(folder, { keepDaily: 1 });
    assert.deepEqual(
      result.removed.map((removed) => path.basename(removed)),
      ['env-20240102-180000'],
    );
    assert.ok((await fs.readdir(folder)).includes('env-20240103-120000'));
  });

  it('refuses to delete what is not a backup', async () => {
    for (const target of [path.join(folder, 'not-a-backup'), path.join(folder, 'notes.txt'), path.join(folder, 'nothing')]) {
      await assert.rejects(deleteBackup(target), { code: 'INVALID_ARGUMENT' });
    }
    assert.equal(await fs.readFile(path.join(folder, 'not-a-backup', 'keep.txt'), 'utf8'), 'mine');
  });
});
