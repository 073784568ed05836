import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { measureTree } from '../../../src/core/fs/fileTree';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest } from '../../../src/core/catalog/manifest';
import { describeRestore } from '../../../src/core/restore/restorePlan';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { besideEnvironment, changeEnvironment, makeRestoreCase } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';

describe('describeRestore (what the prompt says)', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('says what would be replaced, where it would be kept, the backup date, and that the environment changed since', async () => {
    const { backup, env, old } = await makeRestoreCase(path.join(tmp, 'changed'));
    const manifest = await readManifest(backup);
    const now = new Date(2024, 2, 3, 4, 5, 6);

    const plan = await describeRestore(backup, env, { now });

    assert.equal(plan.backupKind, 'hotcopy');
    assert.equal(plan.backupCreatedAt, manifest?.createdAt);
    assert.equal(plan.projectName, 'Populated Project');
    assert.equal(plan.target, 'environment');
    assert.deepEqual(plan.replaced, await measureTree(env));
    assert.deepEqual(plan.restored, { files: manifest?.fileCount, bytes: manifest?.bytes });
    assert.equal(plan.aside, `${env}.before-restore-20240303-040506`);
    assert.equal(plan.database, null);
    assert.equal(plan.changedSinceBackup?.changed, true);
    assert.equal(plan.changedSinceBackup?.tickets, 1);
    assert.equal(plan.changedSinceBackup?.wikiPages, 0);
    assert.ok(Date.parse(plan.changedSinceBackup?.latest ?? '') > Date.parse(plan.backupCreatedAt));
    assert.deepEqual(plan.leftovers, []);
    assert.deepEqual(await fingerprintTree(env), old, 'describing changes nothing');
    assert.deepEqual(await besideEnvironment(env), { asides: [], work: [] });
  });

  it('says the environment did not change when nothing in it is newer than the backup', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', path.join(tmp, 'unchanged'));
    const backup = path.join(tmp, 'unchanged', 'backup');
    await hotcopy(env, backup);

    const plan = await describeRestore(backup, env);

    assert.deepEqual(plan.changedSinceBackup, { changed: false, tickets: 0, wikiPages: 0, latest: undefined });
  });

  it('replaces nothing at a missing path, and dates a copy without metadata by its newest change', async () => {
    const root = path.join(tmp, 'plain');
    const plain = await copyFixture('trac-1.6-populated', 'plain', root);
    await changeEnvironment(plain, new Date('2030-01-02T03:04:05.678Z'));

    const plan = await describeRestore(plain, path.join(root, 'nowhere', 'env'));

    assert.equal(plan.backupKind, 'trac-admin');
    assert.equal(plan.backupCreatedAt, '2030-01-02T03:04:05.678Z');
    assert.equal(plan.target, 'missing');
    assert.equal(plan.aside, null);
    assert.deepEqual(plan.replaced, { files: 0, bytes: 0 });
    assert.equal(plan.changedSinceBackup, undefined);
    await assert.rejects(fs.access(path.join(root, 'nowhere')), { code: 'ENOENT' });
  });

  it('carries what the restore will not bring back, for the prompt to say before anything happens', async () => {
    const root = path.join(tmp, 'no-database');
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    const backup = path.join(root, 'backup');
    await hotcopy(env, backup, { includeDatabase: false });

    const plan = await describeRestore(backup, env);

    assert.equal(plan.warnings.length, 1, 'one warning');
    assert.match(plan.warnings[0], /without its database \(--no-database\): .*env will have no database after the restore/);
  });
});
