import assert from 'node:assert/strict';
import { mkdirSync, promises as fs, rmSync } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { FolderInterest, FolderWatcher, interestsInFiles, mergeInterests } from '../../../src/core/fs/fileWatch';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const temps: string[] = [];
after(() => Promise.all(temps.map(removeTempDir)));

function watchFolders(interests: FolderInterest[], onChange: (file: string) => void, onError?: (folder: string) => void): FolderWatcher {
  const watcher = new FolderWatcher(onChange, onError);
  watcher.update(interests);
  return watcher;
}

/** Collects the changes reported, and waits for one that satisfies a check. */
function recorder() {
  const seen: string[] = [];
  let wake = () => {};
  return {
    seen,
    record: (file: string) => {
      seen.push(file);
      wake();
    },
    async until(check: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 5_000;
      while (!check()) {
        if (Date.now() > deadline) {
          assert.fail(`${what}; seen: ${JSON.stringify(seen)}`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
    },
  };
}

test('reports a trac.ini rewritten in place or saved by rename, and a VERSION removed, and nothing for other files', async () => {
  const root = await makeTempDir();
  temps.push(root);
  const env = await copyFixture('trac-1.6-fresh', 'env', root);
  const ini = path.join(env, 'conf', 'trac.ini');
  const version = path.join(env, 'VERSION');
  const changes = recorder();
  const watch = watchFolders(interestsInFiles([version, ini]), changes.record);
  try {
    await fs.writeFile(path.join(env, 'conf', 'other.ini'), 'x');
    await fs.writeFile(path.join(env, 'README'), 'x');
    await fs.appendFile(ini, '\n# edited\n');
    await changes.until(() => changes.seen.includes(ini), 'the rewrite of trac.ini was not reported');
    assert.ok(
      changes.seen.every((file) => file === ini),
      `a file not asked for was reported: ${JSON.stringify(changes.seen)}`,
    );

    changes.seen.length = 0;
    await fs.writeFile(`${ini}.tmp`, '[project]\nname = Saved by rename\n');
    await fs.rename(`${ini}.tmp`, ini);
    await changes.until(() => changes.seen.includes(ini), 'trac.ini saved by rename was not reported');

    await fs.rm(version);
    await changes.until(() => changes.seen.includes(version), 'the removal of VERSION was not reported');
  } finally {
    watch.close();
  }
});

test('reports a file whose folder appears later, and hands a folder it cannot watch to onError instead of throwing', async () => {
  const root = await makeTempDir();
  temps.push(root);
  const env = path.join(root, 'env');
  const later = path.join(env, 'VERSION');
  const changes = recorder();
  const failed: string[] = [];
  const watch = watchFolders(
    [...interestsInFiles([later]), { folder: path.join(root, 'no-such-folder'), any: true }],
    changes.record,
    (folder: string) => failed.push(folder),
  );
  try {
    assert.deepEqual(failed.sort(), [env, path.join(root, 'no-such-folder')].sort());
    await fs.mkdir(env);
    await changes.until(() => changes.seen.includes(env), 'the folder made for VERSION was not reported');
  } finally {
    watch.close();
  }

  changes.seen.length = 0;
  await fs.writeFile(path.join(root, 'other'), 'changed after close\n');
  await fs.rm(env, { recursive: true });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(changes.seen, [], 'a closed watch still reported changes');
});

test('reports every name in a folder watched whole, and names by prefix, and merges interests per folder', async () => {
  const root = await makeTempDir();
  temps.push(root);
  const backups = path.join(root, 'env-backups');
  await fs.mkdir(backups);
  const interests = [
    { folder: backups, any: true },
    { folder: root, prefixes: ['env.before-restore-'] },
    { folder: root, names: ['env-backups'] },
  ];
  assert.deepEqual(mergeInterests(interests), [
    { folder: root, names: ['env-backups'], prefixes: ['env.before-restore-'] },
    { folder: backups, any: true },
  ]);
  const changes = recorder();
  const watch = watchFolders(interests, changes.record);
  try {
    // Made first: events come in order, so it has been seen (and left out) once the others are.
    await fs.mkdir(path.join(root, 'unrelated'));
    await fs.mkdir(path.join(backups, '.env-20261126-101500.backup-1-0000beef'));
    await fs.rename(path.join(backups, '.env-20261126-101500.backup-1-0000beef'), path.join(backups, 'env-20261126-101500'));
    await fs.mkdir(path.join(root, 'env.before-restore-20261126-101500'));
    await changes.until(
      () =>
        changes.seen.includes(path.join(backups, 'env-20261126-101500')) &&
        changes.seen.includes(path.join(root, 'env.before-restore-20261126-101500')),
      'the new backup and the copy kept aside were not both reported',
    );
    assert.ok(!changes.seen.includes(path.join(root, 'unrelated')), 'a name nobody asked for was reported');
  } finally {
    watch.close();
  }
});

test('update() watches a folder that was missing once it exists, and a folder removed and made again anew', async () => {
  const root = await makeTempDir();
  temps.push(root);
  const backups = path.join(root, 'env-backups');
  const interests = [
    { folder: backups, any: true },
    { folder: root, names: ['env-backups'] },
  ];
  const changes = recorder();
  const failed: string[] = [];
  const watcher = new FolderWatcher(changes.record, (folder) => failed.push(folder));
  try {
    watcher.update(interests);
    assert.deepEqual(failed, [backups]);
    assert.deepEqual(watcher.folders, [root]);

    await fs.mkdir(backups);
    await changes.until(() => changes.seen.includes(backups), 'the backup folder being made was not reported');
    watcher.update(interests);
    assert.deepEqual(watcher.folders.sort(), [root, backups].sort());
    await fs.mkdir(path.join(backups, 'env-1'));
    await changes.until(() => changes.seen.includes(path.join(backups, 'env-1')), 'a backup in the folder made later was not reported');

    // Removed, made again and updated in one go, before any event of the removal is handled.
    rmSync(backups, { recursive: true });
    mkdirSync(backups);
    watcher.update(interests);
    changes.seen.length = 0;
    await fs.mkdir(path.join(backups, 'env-2'));
    await changes.until(() => changes.seen.includes(path.join(backups, 'env-2')), 'a backup in the folder made again was not reported');

    watcher.update([]);
    assert.deepEqual(watcher.folders, []);
  } finally {
    watcher.close();
  }
});
