import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HotcopyResult } from '../../../src/core/backup/hotcopy';
import { makeBackupChain } from '../../support/backupChain';
import { errorLine, runBuiltCli, runCliCaptured } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { addAttachment } from '../../support/incremental';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
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
    type Decision = { path: string; name: string; createdAt: string; reasons: string[] };
    const json = JSON.parse(result.stdout) as { dryRun: boolean; keep: Decision[]; remove: Decision[] };
    assert.deepEqual(
      [json.dryRun, json.keep.map((item) => item.name), json.remove.map((item) => item.name)],
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

  it('prune refuses a folder that is missing, a file, or unreadable, naming it (exit 1)', async () => {
    const notes = path.join(tmp, 'notes.txt');
    await fs.writeFile(notes, 'not a folder');
    const cases: Array<[string, RegExp]> = [
      [path.join(tmp, 'no-such-folder'), /does not exist/],
      [notes, /is not a folder/],
    ];
    for (const [target, reason] of cases) {
      const result = await cli('prune', target, '--keep-last', '1');
      assert.equal(result.code, 1, `${target}: ${result.stdout}${result.stderr}`);
      const line = errorLine(result.stderr);
      assert.ok(line.includes(target), line);
      assert.match(line, reason);
      assert.doesNotMatch(result.stdout, /Deleted/);
    }
  });

  it('prune refuses a folder its user cannot read (exit 1)', async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--only=cli'], { cwd: ROOT, stdio: 'pipe' });
    const locked = path.join(tmp, 'locked');
    await fs.mkdir(locked);
    await fs.writeFile(path.join(locked, 'x'), 'x');
    await fs.chmod(locked, 0o300);
    // Root reads any folder: as root, the run is made as nobody, who may walk through tmp.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    await fs.chmod(tmp, 0o755);
    try {
      const result = runBuiltCli(['prune', locked, '--keep-last', '1'], asUser);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      const line = errorLine(result.stderr);
      assert.ok(line.includes(locked), line);
      assert.match(line, /cannot be read/);
    } finally {
      await fs.chmod(locked, 0o755);
    }
  });

  it('prune wants counts that are whole numbers from 0 up, saying so for negative and non-numbers (exit 2)', async () => {
    const cases: Array<[string[], string]> = [
      [['--keep-last', '-1'], "--keep-last must be a whole number ≥ 0, not '-1'"],
      [['--keep-last=-1'], "--keep-last must be a whole number ≥ 0, not '-1'"],
      [['--keep-daily', 'abc'], "--keep-daily must be a whole number ≥ 0, not 'abc'"],
      [['--keep-weekly', '1.5'], "--keep-weekly must be a whole number ≥ 0, not '1.5'"],
    ];
    const before = await fs.readdir(folder);
    for (const [args, message] of cases) {
      const result = await cli('prune', folder, ...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(errorLine(result.stderr), `trac-backup: ${message}. Run 'trac-backup prune --help'.`);
    }
    assert.deepEqual(await fs.readdir(folder), before, 'nothing was deleted');
  });

  it('takes a value that starts with a dash for an option that wants one, in every verb', async () => {
    const dashed = path.join(tmp, '-dashed-env');
    await fs.cp(env, dashed, { recursive: true, preserveTimestamps: true });
    // prune --environment -dashed-env: the value, not an unknown option.
    const pruned = await cli('prune', folder, '--keep-last', '1', '--environment', dashed, '--dry-run');
    assert.equal(pruned.code, 0, pruned.stderr);
    const relative = await cli('prune', folder, '--keep-last', '1', '--environment', '-dashed-env', '--dry-run');
    assert.doesNotMatch(relative.stderr, /ambiguous/);
    // hotcopy --link-dest -x: the value; it is refused for what it is, not as ambiguous.
    const linked = await cli('hotcopy', env, path.join(tmp, 'dash-dest'), '--link-dest', '-no-such-backup');
    assert.equal(linked.code, 1, linked.stderr);
    assert.match(errorLine(linked.stderr), /-no-such-backup.*does not exist/);
    // An option where a value belongs is still an error, saying what is missing.
    const missing = await cli('prune', folder, '--environment', '--dry-run', '--keep-last', '1');
    assert.equal(missing.code, 2);
    assert.match(errorLine(missing.stderr), /--environment needs a value/);
  });

  it('hotcopy --link-dest and --incremental link unchanged files from an earlier backup', async () => {
    const previous = path.join(folder, 'env-20240102-090000');
    const linked = await cli('hotcopy', env, path.join(folder, 'env-20240103-090000'), '--link-dest', previous, '--json');
    assert.equal(linked.code, 0, linked.stderr);
    const json = JSON.parse(linked.stdout) as HotcopyResult;
    assert.deepEqual([json.incremental, json.linkDest, json.copiedFiles], [true, previous, 1]);

    await addAttachment(env, '5', 'fresh.txt', 'fresh');
    // --incremental links only from a backup that passed verification since it was made.
    assert.equal((await cli('verify', path.join(folder, 'env-20240103-090000'))).code, 0);
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
