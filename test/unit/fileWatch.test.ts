import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { watchFiles } from '../../src/core/fileWatch';
import { copyFixture, makeTempDir, removeTempDir } from '../support/fixtures';

const temps: string[] = [];
after(() => Promise.all(temps.map(removeTempDir)));

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
  const watch = watchFiles([version, ini], changes.record);
  try {
    await fs.writeFile(path.join(env, 'conf', 'other.ini'), 'x');
    await fs.writeFile(path.join(env, 'README'), 'x');
    await fs.appendFile(ini, '\n# edited\n');
    await changes.until(() => changes.seen.includes(ini), 'the rewrite of trac.ini was not reported');
    assert.ok(changes.seen.every((file) => file === ini), 'a file not asked for was reported');

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

test('reports a file that appears later, and hands a folder it cannot watch to onError instead of throwing', async () => {
  const root = await makeTempDir();
  temps.push(root);
  const missing = path.join(root, 'no-such-folder', 'trac.ini');
  const later = path.join(root, 'VERSION');
  const changes = recorder();
  const failed: string[] = [];
  const watch = watchFiles([missing, later], changes.record, (folder) => failed.push(folder));
  try {
    assert.deepEqual(failed, [path.dirname(missing)]);
    await fs.writeFile(later, 'Trac Environment Version 1\n');
    await changes.until(() => changes.seen.includes(later), 'the new VERSION was not reported');
  } finally {
    watch.close();
  }

  changes.seen.length = 0;
  await fs.writeFile(later, 'changed after close\n');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(changes.seen, [], 'a closed watch still reported changes');
});
