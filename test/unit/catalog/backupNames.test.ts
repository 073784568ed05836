import * as assert from 'node:assert/strict';
import { promises as fs, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { utimesSeconds } from '../../../src/core/fs/fileTimes';
import { chooseAsidePath, isKeptBeforeRestore } from '../../../src/core/catalog/backupNames';
import { fileStamp } from '../../../src/core/shared/format';
import { isRestoreJournalName } from '../../../src/core/work/restoreJournal';
import { isWorkName, parseWorkName, releaseWork, workPathFor } from '../../../src/core/work/workFolder';
import { makeTempDir, removeTempDir } from '../../support/fixtures';

describe('the names of backups, kept copies and work, and file times', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('names the aside copy with the local date and time, never one that is taken (side files included)', async () => {
    const now = new Date(2024, 0, 2, 3, 4, 5);
    assert.equal(fileStamp(now), '20240102-030405');
    assert.equal(isKeptBeforeRestore('env.before-restore-20240102-030405'), true);
    assert.equal(isKeptBeforeRestore('env-20240102-030405'), false);
    const env = path.join(tmp, 'env');
    assert.equal(await chooseAsidePath(env, now), `${env}.before-restore-20240102-030405`);
    await fs.mkdir(`${env}.before-restore-20240102-030405`);
    assert.equal(await chooseAsidePath(env, now), `${env}.before-restore-20240102-030405-2`);
    const db = path.join(tmp, 'trac.db');
    await fs.writeFile(`${db}.before-restore-20240102-030405-wal`, 'an old -wal');
    assert.equal(await chooseAsidePath(db, now), `${db}.before-restore-20240102-030405`);
    assert.equal(await chooseAsidePath(db, now, true), `${db}.before-restore-20240102-030405-2`);
  });

  it('tells work in progress from environments and backups by its name', () => {
    const temp = workPathFor('/srv/trac/project', 'restore');
    releaseWork(temp);
    assert.equal(path.dirname(temp), '/srv/trac');
    assert.deepEqual(parseWorkName(path.basename(temp)), { target: 'project', purpose: 'restore', pid: process.pid });
    for (const name of [
      path.basename(temp),
      '.trac.db.restore-7-0a1b2c3d',
      '.project.backup-12-0badc0de',
      '.x.tar.gz.archive-3-00ff00ff',
    ]) {
      assert.equal(isWorkName(name), true, name);
    }
    for (const name of ['.project.restore-journal.json', '.project.restore-journal.json.42.tmp']) {
      assert.equal(isRestoreJournalName(name), true, name);
      assert.equal(isWorkName(name), false, name);
    }
    for (const name of [
      'project',
      'project.before-restore-20240102-030405',
      '.project.tmp-0badc0de',
      'project.restore-1-ab',
      '.project.restore-1-ab',
    ]) {
      assert.equal(isWorkName(name), false, name);
      assert.equal(isRestoreJournalName(name), false, name);
    }
  });

  it('gives file times that read back to the same millisecond', () => {
    const file = path.join(tmp, 'times');
    writeFileSync(file, 'x');
    // With the nearest doubles above and below a whole millisecond (2 ** -12 ms apart at this size).
    for (const ms of [1795690109100, 1795690109100 + 2 ** -12, 1795690110000 - 2 ** -12, 1700000000000, 1795690109123.456]) {
      utimesSync(file, utimesSeconds(ms), utimesSeconds(ms));
      assert.equal(Math.floor(statSync(file).mtimeMs), Math.floor(ms), String(ms));
    }
  });
});
