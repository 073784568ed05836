import * as assert from 'node:assert/strict';
import { SpawnSyncOptions, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HotcopyResult } from '../../../src/core/backup/hotcopy';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { readManifest } from '../../../src/core/catalog/manifest';
import { inspectDatabase } from '../../support/database';
import { errorLine, runBuiltCli } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/**
 * Runs the CLI as a user whom file permissions stop: root reads and writes anything, so as root
 * the run is made as nobody, over a tree given to nobody.
 */
async function unprivileged(tree: string, tempRoot: string): Promise<SpawnSyncOptions> {
  if (process.getuid?.() !== 0) {
    return {};
  }
  execFileSync('chown', ['-R', '65534:65534', tree]);
  // mkdtemp made the temporary folder private to root: let nobody walk through it.
  await fs.chmod(tempRoot, 0o755);
  return { uid: 65534, gid: 65534 };
}

describe('trac-backup CLI (dist/cli.js)', () => {
  let tmp: string;
  let env: string;
  before(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--only=cli'], { cwd: ROOT, stdio: 'pipe' });
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('hotcopy --json prints one JSON object and exits 0', async () => {
    const dest = path.join(tmp, 'json', 'backup');
    const result = runBuiltCli(['hotcopy', env, dest, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no progress bar when stderr is not a terminal');
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const json = JSON.parse(lines[0]) as HotcopyResult;
    assert.equal(json.dest, dest);
    for (const key of ['files', 'bytes', 'durationMs', 'lockMs'] as const) {
      assert.equal(typeof json[key], 'number', key);
    }
    assert.equal(json.files, (await readManifest(dest))?.fileCount);
    assert.equal(inspectDatabase(path.join(dest, 'db', 'trac.db')).tickets, 60);
  });

  it('hotcopy without --json says what it did in one line', () => {
    const dest = path.join(tmp, 'text', 'backup');
    const result = runBuiltCli(['hotcopy', env, dest]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^Backed up .* to ${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ files, .*writers held for`),
    );
  });

  it('hotcopy --no-database leaves the database out', async () => {
    const dest = path.join(tmp, 'nodb', 'backup');
    const result = runBuiltCli(['hotcopy', '--no-database', env, dest, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as HotcopyResult).databaseIncluded, false);
    await assert.rejects(fs.access(path.join(dest, 'db', 'trac.db')), { code: 'ENOENT' });
  });

  it('refuses an existing destination with one line naming it, and exit 1', async () => {
    const dest = path.join(tmp, 'existing');
    await fs.mkdir(dest);
    const result = runBuiltCli(['hotcopy', env, dest]);
    assert.equal(result.code, 1);
    assert.ok(errorLine(result.stderr).includes(`can't overwrite existing '${dest}'`));
    assert.equal(result.stdout, '');
  });

  it('refuses a folder that is not an environment', () => {
    const result = runBuiltCli(['hotcopy', tmp + '/nowhere', path.join(tmp, 'x')]);
    assert.equal(result.code, 1);
    assert.match(errorLine(result.stderr), /nowhere is not a Trac environment: the folder does not exist/);
  });

  it('names an unreadable file of the environment and leaves nothing behind', async () => {
    const area = path.join(tmp, 'unreadable');
    const source = await copyFixture('trac-1.6-populated', 'env', area);
    const locked = path.join(source, ...attachmentRelativePath('ticket', '30', 'log-1.bin').split('/'));
    await fs.access(locked);
    await fs.mkdir(path.join(area, 'backups'));
    const options = await unprivileged(area, tmp);
    await fs.chmod(locked, 0o000);
    const result = runBuiltCli(['hotcopy', source, path.join(area, 'backups', 'b1')], options);
    assert.equal(result.code, 1, result.stderr);
    const line = errorLine(result.stderr);
    assert.ok(line.includes(locked), line);
    assert.match(line, /permission denied.*read access/);
    assert.deepEqual(await fs.readdir(path.join(area, 'backups')), []);
  });

  it('names a destination it cannot write to', async () => {
    const area = path.join(tmp, 'unwritable');
    const source = await copyFixture('trac-1.6-populated', 'env', area);
    const options = await unprivileged(source, tmp);
    const parent = path.join(area, 'read-only');
    await fs.mkdir(parent, { mode: 0o555 });
    await fs.chmod(parent, 0o555);
    const result = runBuiltCli(['hotcopy', source, path.join(parent, 'sub', 'b1')], options);
    assert.equal(result.code, 1, result.stderr);
    const line = errorLine(result.stderr);
    assert.ok(line.includes(parent), line);
    assert.match(line, /choose a folder you can write to/);
    assert.deepEqual(await fs.readdir(parent), []);
  });

  it('reports bad arguments on one line with exit 2', () => {
    for (const args of [['hotcopy', env], ['hotcopy', '--bogus', env, 'x'], ['frobnicate']]) {
      const result = runBuiltCli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(errorLine(result.stderr), /--help/);
    }
  });

  it('prints help and version', () => {
    const help = runBuiltCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /hotcopy/);
    const verbHelp = runBuiltCli(['hotcopy', '--help']);
    assert.equal(verbHelp.code, 0);
    assert.match(verbHelp.stdout, /--no-database/);
    const version = runBuiltCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^trac-backup \d+\.\d+\.\d+\n$/);
  });
});
