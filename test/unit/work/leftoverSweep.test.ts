import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { pruneBackups } from '../../../src/core/catalog/prune';
import { verifyBackup } from '../../../src/core/verify/verify';
import { parseWorkName } from '../../../src/core/work/workFolder';
import { redate } from '../../support/backupChain';
import { startNode } from '../../support/childProcess';
import { buildCli, sleep, startCli, waitUntil, workIn } from '../../support/cliChild';
import { errorLine, runBuiltCli } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { buildLargeEnvironment } from '../../support/largeEnvironment';

const ROUNDS = 5;
const MB = 1024 * 1024;

/** The `note:` lines of a run's standard error. */
const notes = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('note: '));

/** The id of a process that has ended (it ran and exited). */
async function deadPid(): Promise<number> {
  const child = startNode(['-e', '']);
  await child.exited;
  return child.child.pid!;
}

/**
 * Runs `args` in a child, waits until its own work (named with its process id) shows up in
 * `folder`, then a random part of `maxDelayMs`, and kills it with SIGKILL if it still runs.
 * Returns what it printed on stderr: its notes about what it swept come before its work starts.
 */
async function killAtRandom(args: string[], folder: string, maxDelayMs: number): Promise<string> {
  const child = startCli(args);
  const pid = child.child.pid;
  const working = await waitUntil(async () => (await workIn(folder)).some((name) => parseWorkName(name)?.pid === pid), child);
  if (working) {
    await sleep(Math.random() * maxDelayMs);
  }
  child.child.kill('SIGKILL');
  await child.exited;
  return child.stderr();
}

interface KillRounds {
  argsFor: (round: number) => string[];
  windowMs: number;
  beforeRound?: (round: number) => Promise<void>;
  /** hotcopy and archive print their notes as they sweep (before their work starts); prune at its end. */
  notesBeforeWork: boolean;
}

/**
 * Kills a run of `argsFor(round)` at a random instant, round after round: each run sweeps
 * exactly what the one before left (and, with notesBeforeWork, has said so before it is killed).
 * Should no kill have left anything (each landed after the end), more rounds kill as soon as the
 * work starts. Returns what the last one left.
 */
async function killRounds(folder: string, { argsFor, windowMs, beforeRound, notesBeforeWork }: KillRounds) {
  let left: string[] = [];
  let leftSomething = false;
  for (let round = 0; round < ROUNDS || (!leftSomething && round < 2 * ROUNDS); round++) {
    await beforeRound?.(round);
    const stderr = await killAtRandom(argsFor(round), folder, round < ROUNDS ? windowMs : 0);
    const now = await workIn(folder);
    assert.deepEqual(
      left.filter((name) => now.includes(name)),
      [],
      `round ${round} did not sweep what the one before left`,
    );
    if (notesBeforeWork) {
      assertReported(stderr, folder, left);
    }
    left = now;
    leftSomething ||= left.length > 0;
  }
  assert.ok(leftSomething, 'no kill left anything: the test proves nothing');
  return left;
}

/** How long `args` takes in a child, from its work showing up in `folder` to its end. */
async function timeRun(args: string[], folder: string, workPurpose: string): Promise<number> {
  const child = startCli(args);
  await waitUntil(async () => (await workIn(folder)).some((name) => parseWorkName(name)?.purpose === workPurpose), child);
  const started = performance.now();
  const { code } = await child.exited;
  assert.equal(code, 0, child.stderr());
  return performance.now() - started;
}

/** Every leftover in `left` is named in a note of `stderr`, and nothing else is. */
function assertReported(stderr: string, folder: string, left: string[]): void {
  const lines = notes(stderr);
  for (const name of left) {
    assert.ok(
      lines.some((line) => line.includes(path.join(folder, name))),
      `${name} was not reported:\n${stderr}`,
    );
  }
  assert.equal(lines.length, left.length, `notes for work that was not left:\n${stderr}`);
}

describe('work left by killed runs (kill -9) is swept by the next run, and only that', () => {
  let tmp: string;
  let env: string;
  before(async () => {
    buildCli();
    tmp = await makeTempDir();
    env = (await buildLargeEnvironment(tmp, 'env', { attachmentBytes: 30 * MB, tickets: 300 })).path;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it(`hotcopy killed at random instants (${ROUNDS} rounds): the next hotcopy removes or finishes what each left, and says so`, async () => {
    const folder = path.join(tmp, 'hotcopy-kills');
    const windowMs = await timeRun(['hotcopy', env, path.join(folder, 'calibration')], folder, 'backup');
    const left = await killRounds(folder, {
      argsFor: (round) => ['hotcopy', env, path.join(folder, `b${round}`)],
      windowMs,
      notesBeforeWork: true,
    });

    const next = runBuiltCli(['hotcopy', env, path.join(folder, 'next')]);
    assert.equal(next.code, 0, next.stderr);
    assertReported(next.stderr, folder, left);
    assert.deepEqual(await workIn(folder), [], 'leftovers are still there');
    for (const name of await fs.readdir(folder)) {
      const verified = await verifyBackup(path.join(folder, name), { full: false });
      assert.equal(verified.ok, true, `${name}: ${JSON.stringify(verified.problems)}`);
    }
  });

  it(`archive killed at random instants (${ROUNDS} rounds): the next archive removes the partial archives, and says so`, async () => {
    const backup = (await hotcopy(env, path.join(tmp, 'archive-source', 'b1'))).dest;
    const folder = path.join(tmp, 'archive-kills');
    const windowMs = await timeRun(['archive', backup, path.join(folder, 'calibration.tar.gz')], folder, 'archive');
    const left = await killRounds(folder, {
      argsFor: (round) => ['archive', backup, path.join(folder, `a${round}.tar.gz`)],
      windowMs,
      notesBeforeWork: true,
    });

    const next = runBuiltCli(['archive', backup, path.join(folder, 'next.tar.gz')]);
    assert.equal(next.code, 0, next.stderr);
    assertReported(next.stderr, folder, left);
    assert.deepEqual(await workIn(folder), []);
    assert.ok((await fs.readdir(folder)).every((name) => name.endsWith('.tar.gz')));
  });

  it(`prune killed at random instants (${ROUNDS} rounds): the next prune removes the half-deleted backups, and says so`, async () => {
    const folder = path.join(tmp, 'prune-kills');
    const template = (await hotcopy(env, path.join(tmp, 'prune-template', 'b'))).dest;
    const addBackup = async (name: string, date: Date) => {
      const copy = path.join(folder, name);
      await fs.cp(template, copy, { recursive: true, preserveTimestamps: true });
      await redate(copy, date);
    };
    await addBackup('newest', new Date());
    const pruneArgs = ['prune', folder, '--keep-last', '1'];
    await addBackup('old-calibration', new Date(Date.now() - 86_400_000));
    const windowMs = await timeRun(pruneArgs, folder, 'delete');
    const left = await killRounds(folder, {
      argsFor: () => pruneArgs,
      windowMs,
      beforeRound: (round) => addBackup(`old-${round}`, new Date(Date.now() - 86_400_000 * (round + 2))),
      notesBeforeWork: false,
    });
    assert.ok(
      left.every((name) => parseWorkName(name)?.purpose === 'delete'),
      left.join(', '),
    );

    const next = runBuiltCli([...pruneArgs, '--json']);
    assert.equal(next.code, 0, next.stderr);
    assertReported(next.stderr, folder, left);
    const { swept } = JSON.parse(next.stdout) as { swept: Array<{ path: string }> };
    assert.deepEqual(swept.map((item) => path.basename(item.path)).sort(), left);
    assert.deepEqual(await fs.readdir(folder), ['newest']);
  });

  it('never touches the work of a run that is alive (stopped with SIGSTOP while others sweep)', async () => {
    const folder = path.join(tmp, 'alive');
    const backup = (await hotcopy(env, path.join(tmp, 'alive-source', 'b1'))).dest;
    const running = [
      startCli(['hotcopy', env, path.join(folder, 'running')]),
      startCli(['archive', backup, path.join(folder, 'running.tar.gz')]),
    ];
    try {
      const bothWorking = async () => {
        const purposes = (await workIn(folder)).map((name) => parseWorkName(name)?.purpose);
        return purposes.includes('backup') && purposes.includes('archive');
      };
      assert.ok(await waitUntil(bothWorking), 'the children did not start their work');
      running.forEach((child) => child.child.kill('SIGSTOP'));
      const theirs = await workIn(folder);

      const small = await copyFixture('trac-1.6-fresh', 'small', tmp);
      const backedUp = await hotcopy(small, path.join(folder, 'small'));
      const archived = await exportArchive(backedUp.dest, path.join(folder, 'small.tar.gz'));
      const pruned = await pruneBackups(folder, { keepLast: 5 });
      assert.deepEqual([backedUp.swept, archived.swept, pruned.swept], [[], [], []]);
      assert.deepEqual(await workIn(folder), theirs, 'the work of a live process was swept');
    } finally {
      running.forEach((child) => child.child.kill('SIGCONT'));
    }
    for (const child of running) {
      const { code } = await child.exited;
      assert.equal(code, 0, child.stderr());
    }
    assert.equal((await verifyBackup(path.join(folder, 'running'), { full: false })).ok, true);
    assert.ok((await fs.stat(path.join(folder, 'running.tar.gz'))).size > 20 * MB);
    assert.deepEqual(await workIn(folder), []);
  });

  it('finishes a backup killed between claiming its name and moving into it, whatever the next run backs up', async () => {
    const small = await copyFixture('trac-1.6-populated', 'claimed-env', tmp);
    const folder = path.join(tmp, 'claimed');
    const complete = (await hotcopy(small, path.join(folder, 'b1'))).dest;
    // What a kill between the mkdir of the final name and the rename leaves: an empty folder
    // under the final name, and the complete copy under the temporary one.
    const temp = path.join(folder, `.b1.backup-${await deadPid()}-0badc0de`);
    await fs.rename(complete, temp);
    await fs.mkdir(complete);
    assert.equal((await verifyBackup(complete)).ok, false);

    const next = runBuiltCli(['hotcopy', small, path.join(folder, 'b2')]);
    assert.equal(next.code, 0, next.stderr);
    assert.match(notes(next.stderr).join('\n'), new RegExp(`moved into ${complete}.*${temp}`));
    const verified = await verifyBackup(complete);
    assert.equal(verified.ok, true, JSON.stringify(verified.problems));
    assert.deepEqual(await workIn(folder), []);

    // The same, with the next run backing up to that very name: it is finished, then kept.
    await fs.rename(complete, temp);
    await fs.mkdir(complete);
    const same = runBuiltCli(['hotcopy', small, complete]);
    assert.equal(same.code, 1, same.stderr);
    assert.match(same.stderr, new RegExp(`note: .*moved into ${complete}`));
    assert.match(same.stderr, /can't overwrite existing/);
    assert.equal((await verifyBackup(complete)).ok, true);
  });

  it('says so when the environment is missing because a restore was interrupted while swapping folders', async () => {
    const parent = path.join(tmp, 'interrupted');
    const source = await copyFixture('trac-1.6-populated', 'source', parent);
    const backup = (await hotcopy(source, path.join(parent, 'backups', 'b1'))).dest;
    const env = await copyFixture('trac-1.6-populated', 'env', parent);
    // A restore killed between its two renames: the environment moved aside, the copy not yet in.
    const aside = `${env}.before-restore-20260101-120000`;
    const copy = path.join(parent, `.env.restore-${await deadPid()}-12345678`);
    await fs.rename(env, aside);
    await fs.cp(backup, copy, { recursive: true });
    const journal = {
      format: 1,
      pid: await deadPid(),
      host: os.hostname(),
      startedAt: new Date().toISOString(),
      environment: env,
      backup,
      pairs: [{ live: env, temp: copy, aside }],
    };
    await fs.writeFile(path.join(parent, '.env.restore-journal.json'), JSON.stringify(journal));

    const run = runBuiltCli(['hotcopy', env, path.join(parent, 'backups', 'b2')]);
    assert.equal(run.code, 1);
    assert.match(
      errorLine(run.stderr),
      new RegExp(`a restore of ${backup} was interrupted while swapping folders: run the restore again to finish it`),
    );
    assert.deepEqual(await fs.readdir(path.join(parent, 'backups')), ['b1']);
  });
});
