import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeBackupChain } from '../support/backupChain';
import { runCliCaptured } from '../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../support/fixtures';
import { addAttachment } from '../support/incremental';

const cli = (...args: string[]) => runCliCaptured(args);

describe('trac-backup prune and hotcopy --link-dest (CLI)', () => {
  let tmp: string;
  let env: string;
  let folder: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    folder = path.join(tmp, 'backups');
    await makeBackupChain(env, folder, [new Date(2024, 0, 1, 9), new Date(2024, 0, 1, 17), new Date(2024, 0, 2, 9)]);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('prune --dry-run lists what stays and what would go, with reasons, and deletes nothing', async () => {
    const result = await cli('prune', folder, '--keep-daily', '2', '--dry-run');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), [
      'keep          env-20240102-090000  2024-01-02 09:00  daily 2024-01-02 (1 of 2)',
      'keep          env-20240101-170000  2024-01-01 17:00  daily 2024-01-01 (2 of 2)',
      'would remove  env-20240101-090000  2024-01-01 09:00  no rule keeps it',
      `Dry run: 1 backup would be deleted from ${folder}, 2 kept; nothing was deleted.`,
    ]);
    assert.equal((await fs.readdir(folder)).length, 3);
  });

  it('prune --json prints one object', async () => {
    const result = await cli('prune', folder, '--keep-last', '1', '--dry-run', '--json');
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    assert.deepEqual(
      [json.dryRun, json.keep.map((item: { name: string }) => item.name), json.remove.map((item: { name: string }) => item.name)],
      [true, ['env-20240102-090000'], ['env-20240101-170000', 'env-20240101-090000']],
    );
    assert.deepEqual(json.keep[0].reasons, ['last (1 of 1)']);
  });

  it('prune deletes what no rule keeps', async () => {
    const result = await cli('prune', folder, '--keep-daily', '2');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^remove  +env-20240101-090000 /m);
    assert.match(result.stdout, /Deleted 1 backup from .*; 2 kept\.\n$/);
    assert.deepEqual((await fs.readdir(folder)).sort(), ['env-20240101-170000', 'env-20240102-090000']);
  });

  it('prune refuses to run without a rule, or with a count that is not a number', async () => {
    for (const args of [[folder], [folder, '--keep-last', '0'], [folder, '--keep-daily', 'two'], []]) {
      const result = await cli('prune', ...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /^trac-backup: .*Run 'trac-backup prune --help'\.\n$/);
    }
  });

  it('hotcopy --link-dest and --incremental link unchanged files from an earlier backup', async () => {
    const previous = path.join(folder, 'env-20240102-090000');
    const linked = await cli('hotcopy', env, path.join(folder, 'env-20240103-090000'), '--link-dest', previous, '--json');
    assert.equal(linked.code, 0, linked.stderr);
    const json = JSON.parse(linked.stdout);
    assert.deepEqual([json.incremental, json.linkDest, json.copiedFiles], [true, previous, 1]);

    await addAttachment(env, '5', 'fresh.txt', 'fresh');
    const text = await cli('hotcopy', env, path.join(folder, 'env-20240104-090000'), '--incremental');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\(.* new in 2 files; \d+ unchanged files linked from .*env-2024\d{4}-\d{6}\)/);

    const both = await cli('hotcopy', env, path.join(folder, 'x'), '--incremental', '--link-dest', previous);
    assert.equal(both.code, 2);
    const stranger = await cli('hotcopy', env, path.join(folder, 'y'), '--link-dest', tmp);
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /has no trac-backup metadata/);
  });
});
