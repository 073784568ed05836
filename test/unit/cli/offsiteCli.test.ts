// trac-backup send / fetch / offsite-* as a user runs them (the built CLI in a child process),
// against a real restic and a local repository, the password in restic's own variables.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { CliRun, errorLine, runBuiltCli } from '../../support/cliRun';
import { buildCli } from '../../support/cliChild';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { TEST_PASSWORD, resticTestEnv } from '../../support/resticRepos';
import { compareTrees } from '../../support/treeCompare';

describe('trac-backup send, fetch, offsite-list, offsite-prune, offsite-check (real restic, local repository)', () => {
  let tmp: string;
  let env: string;
  let repo: string;
  let backups: string[];
  let cliEnv: NodeJS.ProcessEnv;
  const runs: CliRun[] = [];
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const run = runBuiltCli(args, { env: { ...cliEnv, ...extra } });
    runs.push(run);
    return run;
  };

  before(async () => {
    buildCli();
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    repo = path.join(tmp, 'repo');
    const passwordFile = path.join(tmp, 'restic-password');
    await fs.writeFile(passwordFile, TEST_PASSWORD, { mode: 0o600 });
    cliEnv = { ...resticTestEnv(tmp), RESTIC_PASSWORD_FILE: passwordFile };
    backups = [(await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest];
    await fs.appendFile(path.join(env, 'conf', 'trac.ini'), '\n# a small change\n');
    backups.push((await hotcopy(env, path.join(tmp, 'backups', 'env-2'))).dest);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('send to a repository that is not there says so and how to make it; offsite-init makes it', () => {
    const refused = cli(['send', backups[0], repo]);
    assert.equal(refused.code, 1);
    assert.match(errorLine(refused.stderr), /no restic repository at .*repo: initialise one there \(trac-backup offsite-init/);
    const made = cli(['offsite-init', repo, '--json']);
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual(JSON.parse(made.stdout), { repository: repo });
  });

  it('sends two backups, lists them newest first, and fetches the latest into a new folder', async () => {
    for (const backup of backups) {
      const sent = cli(['send', backup, repo, '--json']);
      assert.equal(sent.code, 0, sent.stderr);
      const json = JSON.parse(sent.stdout) as { snapshot: string; verifiedNow: boolean; tags: string[] };
      assert.match(json.snapshot, /^[0-9a-f]{8}$/);
      assert.ok(json.tags.includes('trac-backup'));
      assert.ok(json.tags.some((tag) => /^env:[0-9a-f]{16}$/.test(tag)));
    }
    const listed = cli(['offsite-list', repo, '--environment', env, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const { snapshots } = JSON.parse(listed.stdout) as { snapshots: Array<{ backupName: string }> };
    assert.deepEqual(
      snapshots.map((snapshot) => snapshot.backupName),
      ['env-2', 'env-1'],
    );
    const target = path.join(tmp, 'restored');
    const fetched = cli(['fetch', repo, 'latest', target]);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.match(fetched.stdout, /^Restored the offsite snapshot [0-9a-f]{8} of .*repo to .*restored/);
    assert.deepEqual(await compareTrees(env, target), []);
  });

  it('fetch over an existing environment without a terminal needs --yes, and changes nothing without it', async () => {
    const before = await fs.readFile(path.join(env, 'conf', 'trac.ini'), 'utf8');
    const refused = cli(['fetch', repo, 'latest', env]);
    assert.equal(refused.code, 1);
    assert.match(errorLine(refused.stderr), /pass --yes/);
    assert.equal(await fs.readFile(path.join(env, 'conf', 'trac.ini'), 'utf8'), before);
    assert.deepEqual(
      (await fs.readdir(tmp)).filter((name) => name.startsWith('.')),
      [],
    );
  });

  it('offsite-prune --keep-last 1 lists what goes with --dry-run, then forgets it; offsite-check passes', () => {
    const dry = cli(['offsite-prune', repo, '--keep-last', '1', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would forget\s+[0-9a-f]{8} .* env-1 /);
    assert.match(dry.stdout, /Dry run: 1 snapshot would be forgotten/);
    const pruned = cli(['offsite-prune', repo, '--keep-last', '1', '--json']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal((JSON.parse(pruned.stdout) as { forgotten: string[] }).forgotten.length, 1);
    const listed = JSON.parse(cli(['offsite-list', repo, '--json']).stdout) as { snapshots: unknown[] };
    assert.equal(listed.snapshots.length, 1);
    const checked = cli(['offsite-check', repo]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /no errors were found/);
  });

  it('a wrong password is said, without printing it', () => {
    const wrong = cli(['offsite-list', repo], { RESTIC_PASSWORD_FILE: '', RESTIC_PASSWORD: 'hunter2-wrong' });
    assert.equal(wrong.code, 1);
    assert.match(errorLine(wrong.stderr), /password for the offsite repository .* is wrong/);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /hunter2/);
  });

  it('restic missing: says how to install it, or that the path given is not restic', () => {
    const noPath = cli(['offsite-list', repo], { PATH: path.join(tmp, 'empty-bin') });
    assert.equal(noPath.code, 1);
    assert.match(
      errorLine(noPath.stderr),
      /restic was not found on PATH: install restic \(Debian\/Ubuntu: sudo apt install restic; Fedora: .*macOS: brew install restic; Windows: winget/,
    );
    const wrongPath = cli(['offsite-list', repo, '--restic', path.join(tmp, 'no-restic')]);
    assert.match(errorLine(wrongPath.stderr), /restic is not at .*no-restic/);
  });

  it('no run printed the password', () => {
    assert.ok(runs.length > 5);
    for (const run of runs) {
      assert.doesNotMatch(run.stdout + run.stderr, new RegExp(TEST_PASSWORD));
    }
  });
});
