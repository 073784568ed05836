// Backups belong to an environment by machine and by path or identity: a renamed (or moved)
// environment keeps its backups, and its default backup folder is found by them.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { environmentBackups, isBackupOf, listBackups, newestBackupFor } from '../../../src/core/catalog/backupCatalog';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest, writeManifest } from '../../../src/core/catalog/manifest';
import { pruneBackups } from '../../../src/core/catalog/prune';
import { redate } from '../../support/backupChain';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const local = (day: number) => new Date(2024, 0, day, 12);

describe('a renamed environment keeps its backups', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('records the identity of the environment folder in the metadata', async () => {
    const env = await copyFixture('trac-1.6-fresh', 'recorded', tmp);
    const { dest } = await hotcopy(env, path.join(tmp, 'recorded-backups', 'recorded-1'));
    const stats = await fs.stat(env);
    const { source } = (await readManifest(dest))!;
    assert.equal(source.identity?.dev, stats.dev);
    assert.equal(source.identity?.ino, stats.ino);
    if (stats.birthtimeMs > 0) {
      assert.equal(source.identity?.birthtimeMs, stats.birthtimeMs);
    }
    const [listed] = await listBackups(path.join(tmp, 'recorded-backups'));
    assert.deepEqual(listed.sourceIdentity, source.identity);
  });

  it("matches a backup by the folder identity after a rename, by path after a restore replaced the folder, never another machine's", async () => {
    const area = path.join(tmp, 'rule');
    const env = await copyFixture('trac-1.6-fresh', 'before', area);
    const { dest } = await hotcopy(env, path.join(area, 'backups', 'before-1'));
    const [backup] = await listBackups(path.join(area, 'backups'));
    const renamed = path.join(area, 'after');
    await fs.rename(env, renamed);
    assert.equal(await isBackupOf(backup, renamed), true, 'the renamed environment lost its backup');

    // Another environment beside it is another folder.
    const stranger = await copyFixture('trac-1.6-fresh', 'stranger', area);
    assert.equal(await isBackupOf(backup, stranger), false);

    // A restore puts a new folder (a new inode) at the environment's path: the path still matches.
    await fs.rename(renamed, env);
    await fs.cp(env, `${env}.copy`, { recursive: true, preserveTimestamps: true });
    await fs.rename(env, path.join(area, 'aside'));
    await fs.rename(`${env}.copy`, env);
    assert.notEqual((await fs.stat(env)).ino, backup.sourceIdentity?.ino);
    assert.equal(await isBackupOf(backup, env), true, 'a path match no longer counts');

    // The same identity recorded on another machine is a coincidence of numbers, not this folder.
    const manifest = (await readManifest(dest))!;
    await writeManifest(dest, { ...manifest, source: { ...manifest.source, host: 'trac.elsewhere.example' } });
    const [theirs] = await listBackups(path.join(area, 'backups'));
    assert.equal(await isBackupOf(theirs, path.join(area, 'aside')), false, "another machine's backup matched by identity");
    assert.equal(await isBackupOf(theirs, env), false, "another machine's backup matched by path");
  });

  it('after a rename: the backups are found beside it, linked from, and pruned with the new ones', async () => {
    const area = path.join(tmp, 'renamed');
    const env = await copyFixture('trac-1.6-populated', 'project', area);
    const folder = path.join(area, 'project-backups');
    const first = await hotcopy(env, path.join(folder, 'project-20240101-120000'));
    await redate(first.dest, local(1));
    const second = await hotcopy(env, path.join(folder, 'project-20240102-120000'), { linkDest: first.dest });
    await redate(second.dest, local(2));
    // A neighbour with backups of its own in the same parent folder.
    const neighbour = await copyFixture('trac-1.6-fresh', 'neighbour', area);
    await hotcopy(neighbour, path.join(area, 'neighbour-backups', 'neighbour-1'));

    const renamed = path.join(area, 'project-renamed');
    await fs.rename(env, renamed);

    const found = await environmentBackups(renamed);
    assert.equal(found.folder, folder, 'the backups of the renamed environment were not found');
    assert.equal(found.recordedPath, env, 'the folder found does not say which path its backups were made from');
    assert.deepEqual(
      found.backups.map((backup) => backup.path),
      [second.dest, first.dest],
    );
    const ofNeighbour = await environmentBackups(neighbour);
    assert.deepEqual(
      [ofNeighbour.folder, ofNeighbour.recordedPath, ofNeighbour.backups.length],
      [path.join(area, 'neighbour-backups'), undefined, 1],
    );
    // A configured folder is the folder, renamed or not.
    const configured = await environmentBackups(renamed, path.join(area, 'neighbour-backups'));
    assert.deepEqual(
      [configured.folder, configured.recordedPath, configured.backups],
      [path.join(area, 'neighbour-backups'), undefined, []],
    );

    assert.equal((await newestBackupFor(folder, renamed))?.path, second.dest);
    const third = await hotcopy(renamed, path.join(folder, 'project-renamed-20240103-120000'), { linkDest: second.dest });
    assert.ok(third.linkedFiles > 40, `only ${third.linkedFiles} files were linked from the backup made before the rename`);
    await redate(third.dest, local(3));

    // With --environment, and on the whole folder: the backups before and after the rename are one set.
    const mine = await pruneBackups(folder, { keepLast: 1 }, { dryRun: true, environment: renamed });
    assert.deepEqual(
      mine.keep.map(({ backup }) => backup.path),
      [third.dest],
    );
    assert.deepEqual(
      mine.remove.map(({ backup }) => backup.path),
      [second.dest, first.dest],
    );
    const all = await pruneBackups(folder, { keepLast: 1 }, { dryRun: true });
    assert.deepEqual(
      all.keep.map(({ backup }) => backup.path),
      [third.dest],
    );
    assert.deepEqual(
      all.remove.map(({ backup }) => backup.path),
      [second.dest, first.dest],
    );
  });

  it('the default folder wins once it holds a backup of the environment; a new environment has the default', async () => {
    const area = path.join(tmp, 'default');
    const env = await copyFixture('trac-1.6-fresh', 'main', area);
    assert.deepEqual(await environmentBackups(env), { folder: path.join(area, 'main-backups'), backups: [] });
    await hotcopy(env, path.join(area, 'old-name-backups', 'old-1'));
    assert.equal((await environmentBackups(env)).folder, path.join(area, 'old-name-backups'));
    await hotcopy(env, path.join(area, 'main-backups', 'main-1'));
    const found = await environmentBackups(env);
    assert.deepEqual(
      [found.folder, found.recordedPath, found.backups.map((backup) => backup.name)],
      [path.join(area, 'main-backups'), undefined, ['main-1']],
    );
  });
});
