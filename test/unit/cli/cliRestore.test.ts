import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { RestoreResult } from '../../../src/core/restore/restore';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import type { VerifyResult } from '../../../src/core/verify/verify';
import { CliInput } from '../../../src/cli/command';
import { startNode } from '../../support/childProcess';
import { BUILT_CLI, errorLine, runBuiltCli, runCliCaptured } from '../../support/cliRun';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { RestoreCase, besideEnvironment, makeRestoreCase, sameTree, withoutManifest } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';
import { promises as fs } from 'node:fs';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

function hasScript(): boolean {
  return process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;
}

/** Runs the CLI in this process with a terminal-like stdin that answers `answer`. */
function runOnTerminal(args: string[], answer: string) {
  return runCliCaptured(args, { stdin: Object.assign(Readable.from([answer]), { isTTY: true }) as unknown as CliInput });
}

describe('trac-backup verify and restore (dist/cli.js)', () => {
  let tmp: string;
  let area = 0;
  const scenario = (): Promise<RestoreCase> => makeRestoreCase(path.join(tmp, `case-${++area}`));
  before(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--only=cli'], { cwd: ROOT, stdio: 'pipe' });
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('verify exits 0 for a whole backup, with --json too', async () => {
    const { backup } = await scenario();
    const text = runBuiltCli(['verify', backup]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /is whole: \d+ files .* checked; database passes integrity_check/);
    const json = runBuiltCli(['verify', backup, '--json']);
    assert.equal(json.code, 0);
    const result = JSON.parse(json.stdout) as VerifyResult;
    assert.equal(result.ok, true);
    assert.deepEqual(result.problems, []);
  });

  it('verify lists each problem with its path and exits 1 with one line on stderr', async () => {
    const { backup } = await scenario();
    const attachment = attachmentRelativePath('ticket', '30', 'log-1.bin');
    await fs.appendFile(path.join(backup, attachment), 'x');
    await fs.writeFile(path.join(backup, 'stray.txt'), 'x');

    const result = runBuiltCli(['verify', backup]);

    assert.equal(result.code, 1);
    assert.ok(result.stdout.includes(`${path.join(backup, attachment)}: is `), result.stdout);
    assert.ok(result.stdout.includes(`${path.join(backup, 'stray.txt')}: is not in the metadata`));
    assert.match(errorLine(result.stderr), /failed verification: 2 problems/);
    const json = runBuiltCli(['verify', backup, '--json']);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as VerifyResult).problems.length, 2);
  });

  it('restore --json into a missing path prints env, aside, files, bytes and durationMs', async () => {
    const { backup, restored } = await scenario();
    const env = path.join(tmp, 'fresh-target', 'env');

    const result = runBuiltCli(['restore', backup, env, '--json']);

    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const json = JSON.parse(result.stdout) as RestoreResult;
    assert.equal(json.env, env);
    assert.equal(json.aside, null);
    for (const key of ['files', 'bytes', 'durationMs'] as const) {
      assert.equal(typeof json[key], 'number', key);
    }
    assert.ok(sameTree(await fingerprintTree(env), restored));
  });

  it('restore over an existing environment refuses without a terminal, and replaces it with --yes', async () => {
    const { backup, env, old, restored } = await scenario();

    const refused = runBuiltCli(['restore', backup, env]);

    assert.equal(refused.code, 1);
    assert.match(errorLine(refused.stderr), /exists and restoring replaces it .*no terminal to ask on: pass --yes/);
    assert.ok(sameTree(await fingerprintTree(env), old));
    assert.deepEqual(await besideEnvironment(env), { asides: [], work: [] });

    const confirmed = runBuiltCli(['restore', backup, env, '--yes', '--json']);

    assert.equal(confirmed.code, 0, confirmed.stderr);
    const json = JSON.parse(confirmed.stdout) as RestoreResult;
    assert.ok(json.aside, 'the old environment is kept aside');
    assert.match(json.aside, /env\.before-restore-\d{8}-\d{6}$/);
    assert.ok(sameTree(await fingerprintTree(json.aside), old));
    assert.ok(sameTree(await fingerprintTree(env, withoutManifest), restored));
    const text = runBuiltCli(['restore', backup, env, '-y']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Restored .* files, .*The previous environment is kept in .*before-restore-/);
  });

  it('restore asks y/N on a terminal, saying what it replaces, and does nothing without a yes', async () => {
    const { backup, env, old, restored } = await scenario();

    const declined = await runOnTerminal(['restore', backup, env], 'n\n');

    assert.equal(declined.code, 1);
    assert.ok(declined.stderr.includes(`Restore ${backup} (made `), declined.stderr);
    assert.match(declined.stderr, /It replaces \d+ files \(.*\) there, which are kept in .*env\.before-restore-/);
    assert.match(declined.stderr, /changed after the backup \(1 ticket, the latest .*\): those changes will not be in the restored/);
    assert.match(declined.stderr, /\[y\/N\] /);
    assert.match(declined.stderr, /not restored; .* was not changed/);
    assert.ok(sameTree(await fingerprintTree(env), old));

    const accepted = await runOnTerminal(['restore', backup, env], 'y\n');

    assert.equal(accepted.code, 0, accepted.stderr);
    assert.ok(sameTree(await fingerprintTree(env, withoutManifest), restored));
    await fs.rm(path.join(backup, 'VERSION'));
    const damaged = await runOnTerminal(['restore', backup, env], 'y\n');
    assert.equal(damaged.code, 1);
    assert.ok(!damaged.stderr.includes('[y/N]'), 'a damaged backup is refused before any question');
    assert.match(damaged.stderr, /VERSION missing/);
  });

  it('restore asks on a real terminal (script(1) gives it one)', { skip: !hasScript() && 'script(1) is not installed' }, async () => {
    const { backup, env, old, restored } = await scenario();
    const onTerminal = (answer: string) => {
      const command = [process.execPath, BUILT_CLI, 'restore', backup, env].map((arg) => `'${arg}'`).join(' ');
      const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', input: answer });
      return { code: result.status, output: String(result.stdout).replace(/\r/g, '') };
    };

    const declined = onTerminal('n\n');

    assert.equal(declined.code, 1, declined.output);
    assert.match(declined.output, /kept in .*env\.before-restore-\d{8}-\d{6}\.\n[^]*\[y\/N\] /);
    assert.match(declined.output, /not restored; .* was not changed/);
    assert.ok(sameTree(await fingerprintTree(env), old));

    const accepted = onTerminal('y\n');

    assert.equal(accepted.code, 0, accepted.output);
    assert.match(accepted.output, /Restored .* The previous environment is kept in /);
    assert.ok(sameTree(await fingerprintTree(env, withoutManifest), restored));
  });

  it(
    'restore refuses while a process names the environment, naming it, unless --force',
    { skip: process.platform !== 'linux' && 'needs /proc' },
    async () => {
      const { backup, env, old } = await scenario();
      const tracd = startNode(['-e', 'console.log("serving"); setInterval(() => {}, 1000)', '--', env]);
      try {
        await tracd.waitForLine((line) => line === 'serving');
        const refused = runBuiltCli(['restore', backup, env, '--yes']);
        assert.equal(refused.code, 1);
        assert.ok(errorLine(refused.stderr).includes(`process ${tracd.child.pid} (`), refused.stderr);
        assert.match(refused.stderr, /Stop it .*\(--force\)/);
        assert.ok(sameTree(await fingerprintTree(env), old));
        const forced = runBuiltCli(['restore', backup, env, '--yes', '--force']);
        assert.equal(forced.code, 0, forced.stderr);
      } finally {
        tracd.child.kill();
        await tracd.exited;
      }
    },
  );

  it('reports a damaged backup in one line naming the path, and bad arguments with exit 2', async () => {
    const { backup, env } = await scenario();
    await fs.rm(path.join(backup, 'conf', 'trac.ini'));
    const damaged = runBuiltCli(['restore', backup, env, '--yes']);
    assert.equal(damaged.code, 1);
    assert.match(errorLine(damaged.stderr), /is damaged or incomplete.*conf\/trac\.ini missing/);
    for (const args of [['restore', backup], ['verify'], ['restore', '--bogus', backup, env]]) {
      const result = runBuiltCli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(errorLine(result.stderr), /--help/);
    }
    const help = runBuiltCli(['restore', '--help']);
    assert.match(help.stdout, /--yes/);
    assert.match(runBuiltCli(['--help']).stdout, /verify .*\n.*restore/);
  });
});

describe('trac-backup restore of a folder that lacks initenv’s folders (dist/cli.js)', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('makes them and says which', async () => {
    const plain = path.join(tmp, 'hotcopy');
    await fs.cp(path.join(ROOT, 'test', 'fixtures', 'trac-1.6-fresh'), plain, { recursive: true, preserveTimestamps: true });
    const env = path.join(tmp, 'restored');
    const result = runBuiltCli(['restore', plain, env]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^note: made htdocs\/, plugins\/, which every Trac environment has and the backup lacked\.$/m);
    assert.deepEqual(await fs.readdir(path.join(env, 'plugins')), []);
  });
});
