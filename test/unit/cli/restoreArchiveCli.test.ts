import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import type { RestoreResult } from '../../../src/core/restore/restore';
import { runCliCaptured } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { compareTrees } from '../../support/treeCompare';

describe('trac-backup restore <file.tar.gz>', () => {
  let tmp: string;
  let env: string;
  let archive: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    const backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest;
    archive = (await exportArchive(backup, path.join(tmp, 'env-1.tar.gz'))).archive;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('restores an archive into a new folder, equal to the environment, and leaves no unpacked copy', async () => {
    const target = path.join(tmp, 'restored');
    const result = await runCliCaptured(['restore', archive, target, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as RestoreResult;
    assert.equal(json.env, target);
    assert.equal(json.aside, null);
    assert.equal(json.backup, archive);
    assert.deepEqual(await compareTrees(env, target), []);
    assert.deepEqual(
      (await fs.readdir(tmp)).filter((name) => name.startsWith('.')),
      [],
      'an unpacked copy was left',
    );
  });

  it('replaces an existing environment from an archive with --yes, keeping the old one aside', async () => {
    await fs.appendFile(path.join(env, 'conf', 'trac.ini'), '\n# changed after the backup\n');
    const result = await runCliCaptured(['restore', archive, env, '--yes', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as RestoreResult;
    assert.ok(json.aside, 'the old environment is kept aside');
    assert.match(json.aside, /env\.before-restore-\d{8}-\d{6}$/);
    assert.doesNotMatch(await fs.readFile(path.join(env, 'conf', 'trac.ini'), 'utf8'), /changed after the backup/);
    assert.match(await fs.readFile(path.join(json.aside, 'conf', 'trac.ini'), 'utf8'), /changed after the backup/);
  });
});
