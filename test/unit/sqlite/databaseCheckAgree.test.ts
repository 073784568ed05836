import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest, writeManifest } from '../../../src/core/catalog/manifest';
import { restore } from '../../../src/core/restore/restore';
import { verifyBackup } from '../../../src/core/verify/verify';
import { errorLine, runCliCaptured } from '../../support/cliRun';
import { corruptIndexEntry } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { sha256 } from '../../support/treeCompare';

const DATABASE = 'db/trac.db';

/**
 * A backup whose database passes quick_check and fails integrity_check, with metadata that
 * records that database (as a backup made from such a source before hotcopy checked it fully).
 */
async function backupWithDamagedIndex(env: string, dest: string): Promise<string> {
  await hotcopy(env, dest);
  const file = path.join(dest, ...DATABASE.split('/'));
  await fs.chmod(file, 0o644);
  corruptIndexEntry(file);
  await fs.chmod(file, 0o444);
  const manifest = (await readManifest(dest))!;
  const stats = await fs.stat(file);
  const digest = await sha256(file);
  await writeManifest(dest, {
    ...manifest,
    entries: manifest.entries.map((entry) =>
      entry.path === DATABASE && entry.type === 'file' ? { ...entry, sha256: digest, size: stats.size, mtimeMs: stats.mtimeMs } : entry,
    ),
  });
  return dest;
}

describe('hotcopy, verify and restore agree on a database whose index is damaged', () => {
  let tmp: string;
  let env: string;
  let damaged: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    damaged = await backupWithDamagedIndex(env, path.join(tmp, 'backups', 'damaged'));
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('hotcopy refuses a source that fails integrity_check (but passes quick_check), leaving nothing', async () => {
    const source = await copyFixture('trac-1.6-populated', 'source', path.join(tmp, 'corrupt-source'));
    corruptIndexEntry(path.join(source, DATABASE));
    const dest = path.join(tmp, 'corrupt-source', 'backups', 'b1');
    await assert.rejects(hotcopy(source, dest), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'DATABASE_CORRUPT');
      assert.match(error.message, /integrity_check/);
      assert.match(error.message, /ticket_time_idx/);
      return true;
    });
    assert.deepEqual(await fs.readdir(path.dirname(dest)).catch(() => []), [], 'nothing was left behind');
    const cli = await runCliCaptured(['hotcopy', source, dest]);
    assert.equal(cli.code, 1);
    assert.match(errorLine(cli.stderr), /integrity_check/);
  });

  it('verify fails it, naming the database and the index', async () => {
    const result = await verifyBackup(damaged);
    assert.equal(result.ok, false);
    assert.deepEqual([...new Set(result.problems.map((problem) => problem.path))], [DATABASE]);
    assert.match(result.problems[0].problem, /integrity_check.*ticket_time_idx/);
    const cli = await runCliCaptured(['verify', damaged]);
    assert.equal(cli.code, 1);
  });

  it('restore refuses it, as verify does, and writes nothing', async () => {
    const target = path.join(tmp, 'restored');
    await assert.rejects(restore(damaged, target), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'BACKUP_DAMAGED');
      assert.match(error.message, /integrity_check/);
      return true;
    });
    await assert.rejects(fs.stat(target), { code: 'ENOENT' });
    const cli = await runCliCaptured(['restore', damaged, target, '--yes']);
    assert.equal(cli.code, 1);
    await assert.rejects(fs.stat(target), { code: 'ENOENT' });
  });
});
