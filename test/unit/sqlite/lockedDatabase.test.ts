import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkDatabaseFile } from '../../../src/core/sqlite/databaseCheck';
import { describeError } from '../../../src/core/shared/errors';
import { BUSY_TIMEOUT_MS } from '../../../src/core/sqlite/sqlite';
import { readEnvironment } from '../../../src/core/trac/environment';
import { LIST_WAIT_MS, readEnvironmentDetails } from '../../../src/core/trac/environmentDetails';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { DEFAULT_LOCK_TIMEOUT_MS, detectLiveTrac } from '../../../src/core/trac/liveTrac';
import { CHANGES_WAIT_MS, describeRestore } from '../../../src/core/restore/restorePlan';
import { verifyBackup } from '../../../src/core/verify/verify';
import { BUILT_CLI } from '../../support/cliRun';
import { StartedChild, startNode } from '../../support/childProcess';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { openTracDatabase } from '../../support/database';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/**
 * The longest the event loop may go without running a timer. SQLite waiting in its busy handler
 * held it for the whole wait (10 s), integrity_check on the main thread for the whole check (a
 * second here); a busy machine running other tests beside may still delay a timer a little, and
 * where it is so busy that the work's own synchronous stretches take longer, the limit is what
 * the same work has without the lock (stallLimit).
 */
const STALL_LIMIT_MS = 250;

/** Another process holding BEGIN EXCLUSIVE: in a rollback-journal database, even readers wait. */
async function holdExclusive(database: string): Promise<StartedChild> {
  const holder = startNode([path.join(__dirname, '..', '..', 'support', 'lockHolder.js')], {
    ...process.env,
    TRAC_DB: database,
    TRAC_LOCK: 'exclusive',
  });
  await holder.waitForLine((line) => line === 'locked');
  return holder;
}

async function release(holder: StartedChild): Promise<void> {
  holder.child.stdin?.end();
  await holder.exited;
}

/** How long some work took without any lock in its way, and the longest the event loop stalled meanwhile. */
interface Unlocked {
  elapsedMs: number;
  stallMs: number;
}

/**
 * `work` on an unlocked copy of the environment, on this machine as busy as it is now: the
 * slowest of three runs. A wait for the lock is what a run on the locked one takes beyond it; and
 * the lock may add no stall to the ones the work has anyway (on a loaded machine a stretch of
 * synchronous work, a walk of the tree or a small file's copy, takes many times longer).
 */
async function withoutLock(work: () => Promise<unknown>): Promise<Unlocked> {
  const slowest: Unlocked = { elapsedMs: 0, stallMs: 0 };
  for (let run = 0; run < 3; run++) {
    const { error, elapsedMs, stallMs } = await longestStall(work);
    if (error) {
      throw error instanceof Error ? error : new Error(describeError(error));
    }
    slowest.elapsedMs = Math.max(slowest.elapsedMs, elapsedMs);
    slowest.stallMs = Math.max(slowest.stallMs, stallMs);
  }
  return slowest;
}

/** The longest stall allowed: STALL_LIMIT_MS, or on a machine too busy for it, twice what the work has without the lock. */
function stallLimit(unlocked: Unlocked): number {
  return Math.max(STALL_LIMIT_MS, 2 * unlocked.stallMs);
}

function stalledMessage(stallMs: number, unlocked: Unlocked): string {
  return `the event loop stalled for ${Math.round(stallMs)} ms (${Math.round(unlocked.stallMs)} ms without the lock)`;
}

/**
 * Whether Node has `pid` holding `file` open (Linux's /proc): the CLI has started and reached the
 * database, so a signal now meets its handlers, however long this busy machine took to start it.
 */
function hasOpen(pid: number, file: string): boolean {
  const fdDir = `/proc/${pid}/fd`;
  try {
    return readdirSync(fdDir).some((fd) => {
      try {
        return readlinkSync(path.join(fdDir, fd)) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Measures the longest stretch the event loop could not run a 10 ms timer, while `work` runs. */
async function longestStall<T>(
  work: () => Promise<T>,
): Promise<{ result: T | undefined; error?: unknown; stallMs: number; elapsedMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 10);
  const started = performance.now();
  try {
    const result = await work();
    return { result, stallMs: Math.max(stallMs, performance.now() - last), elapsedMs: performance.now() - started };
  } catch (error) {
    return { result: undefined, error, stallMs: Math.max(stallMs, performance.now() - last), elapsedMs: performance.now() - started };
  } finally {
    clearInterval(ticker);
  }
}

describe('a database another process keeps locked', () => {
  let tmp: string;
  let env: string;
  /** The same environment, which nothing locks: how long the work takes without any wait. */
  let unlocked: string;
  let database: string;
  let holder: StartedChild | undefined;
  /** Whole backups of the unlocked copy (more than a locked-out one does besides its wait), made once for the tests that need them. */
  let backups: Promise<Unlocked> | undefined;
  const unlockedBackups = (): Promise<Unlocked> => {
    let run = 0;
    backups ??= withoutLock(() => hotcopy(unlocked, path.join(tmp, 'unlocked-backups', `b${++run}`)));
    return backups;
  };
  before(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--only=cli'], { cwd: ROOT, stdio: 'pipe' });
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    unlocked = await copyFixture('trac-1.6-populated', 'unlocked', tmp);
    database = path.join(env, 'db', 'trac.db');
    holder = await holdExclusive(database);
  });
  after(async () => {
    if (holder) {
      await release(holder);
    }
    await removeTempDir(tmp);
  });

  // Each of these waits for the lock as long as it says (a fraction of a second), then goes on
  // without it: on a busy machine the work around the wait takes longer too, so each is compared
  // with the same work on an unlocked copy, now, and may take beyond it at most twice its wait.
  it('the list reads the environment within a fraction of a second and marks the database busy', async () => {
    const environment = await readEnvironment(env);
    const twin = await readEnvironment(unlocked);
    const unlockedRun = await withoutLock(() => readEnvironmentDetails(twin));
    const { result: details, stallMs, elapsedMs } = await longestStall(() => readEnvironmentDetails(environment));
    assert.ok(elapsedMs >= LIST_WAIT_MS, `gave up after ${Math.round(elapsedMs)} ms, before its wait of ${LIST_WAIT_MS} ms`);
    assert.ok(
      elapsedMs - unlockedRun.elapsedMs < 2 * LIST_WAIT_MS,
      `took ${Math.round(elapsedMs)} ms, ${Math.round(unlockedRun.elapsedMs)} ms without the lock`,
    );
    assert.ok(stallMs < stallLimit(unlockedRun), stalledMessage(stallMs, unlockedRun));
    assert.equal(details?.database?.busy, true, JSON.stringify(details?.database));
    assert.equal(details?.database?.version, undefined);
    assert.ok((details?.files ?? 0) > 40, 'the files are measured all the same');
  });

  it('finding a running Trac says locked, quickly, without stalling', async () => {
    const unlockedRun = await withoutLock(() => detectLiveTrac(unlocked));
    const { result: report, stallMs, elapsedMs } = await longestStall(() => detectLiveTrac(env));
    assert.equal(report?.lock, 'locked');
    assert.ok(
      elapsedMs - unlockedRun.elapsedMs < 2 * DEFAULT_LOCK_TIMEOUT_MS,
      `took ${Math.round(elapsedMs)} ms, ${Math.round(unlockedRun.elapsedMs)} ms without the lock`,
    );
    assert.ok(stallMs < stallLimit(unlockedRun), stalledMessage(stallMs, unlockedRun));
  });

  it("a restore's plan leaves 'changed since the backup' unknown rather than waiting", async () => {
    const other = await copyFixture('trac-1.6-fresh', 'other', tmp);
    const backup = (await hotcopy(other, path.join(tmp, 'backups', 'b1'))).dest;
    const unlockedRun = await withoutLock(() => describeRestore(backup, unlocked));
    const { result: plan, stallMs, elapsedMs } = await longestStall(() => describeRestore(backup, env));
    assert.equal(plan?.target, 'environment');
    assert.equal(plan?.changedSinceBackup, undefined);
    assert.ok(
      elapsedMs - unlockedRun.elapsedMs < 2 * CHANGES_WAIT_MS,
      `took ${Math.round(elapsedMs)} ms, ${Math.round(unlockedRun.elapsedMs)} ms without the lock`,
    );
    assert.ok(stallMs < stallLimit(unlockedRun), stalledMessage(stallMs, unlockedRun));
  });

  it('a backup gives up after the stated wait, saying how long it really waited, without stalling the process', async () => {
    const unlockedRun = await unlockedBackups();
    const { error, stallMs, elapsedMs } = await longestStall(() => hotcopy(env, path.join(tmp, 'locked-out', 'b1')));
    assert.ok(error, 'the backup failed');
    assert.equal((error as { code?: string }).code, 'DATABASE_LOCK_FAILED', describeError(error));
    // The wait it really had, to a tenth of a second: the stated one, or a little more on a busy
    // machine (a retry's timer late), never more than the whole call took.
    const said = /waited (\d+\.\d) s/.exec((error as Error).message);
    assert.ok(said, (error as Error).message);
    const waitedMs = Number(said[1]) * 1000;
    assert.ok(waitedMs >= BUSY_TIMEOUT_MS - 50, `said it waited ${said[1]} s, less than ${BUSY_TIMEOUT_MS / 1000} s`);
    assert.ok(waitedMs <= elapsedMs + 50, `said it waited ${said[1]} s, more than the ${Math.round(elapsedMs)} ms it took`);
    assert.ok(elapsedMs >= BUSY_TIMEOUT_MS, `gave up after ${Math.round(elapsedMs)} ms`);
    // One wait, never two: the wait plus the work of a whole backup, with as much again to spare.
    assert.ok(
      elapsedMs < BUSY_TIMEOUT_MS + 2 * unlockedRun.elapsedMs + 1000,
      `took ${Math.round(elapsedMs)} ms, a whole backup without the lock ${Math.round(unlockedRun.elapsedMs)} ms`,
    );
    assert.ok(stallMs < stallLimit(unlockedRun), stalledMessage(stallMs, unlockedRun));
  });

  it('a backup waiting for the lock stops within half a second of being cancelled', async () => {
    const unlockedRun = await unlockedBackups();
    const controller = new AbortController();
    let cancelledAt: number | undefined;
    controller.signal.addEventListener('abort', () => (cancelledAt = performance.now()));
    setTimeout(() => controller.abort(), 1000);
    // From the cancel as it happened; a blocked event loop (which would fire it late) is the stall's to show.
    const { error, stallMs } = await longestStall(() => hotcopy(env, path.join(tmp, 'cancelled', 'b1'), { signal: controller.signal }));
    const stoppedAt = performance.now();
    assert.equal((error as { code?: string } | undefined)?.code, 'CANCELLED', describeError(error));
    assert.ok(cancelledAt !== undefined, 'the cancel was made');
    assert.ok(stoppedAt - cancelledAt < 500, `stopped ${Math.round(stoppedAt - cancelledAt)} ms after the cancel`);
    assert.ok(stallMs < stallLimit(unlockedRun), stalledMessage(stallMs, unlockedRun));
  });

  it('trac-backup hotcopy ends within half a second of Ctrl-C (SIGINT)', async () => {
    const child = spawn(process.execPath, [BUILT_CLI, 'hotcopy', env, path.join(tmp, 'interrupted', 'b1')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.on('close', (code) => resolve({ code, at: performance.now() })),
    );
    // Once it waits at the database (started, its handlers set), however long that took to come.
    await until(() => hasOpen(child.pid!, realpathSync(database)) || child.exitCode !== null, 'the CLI opening the database');
    assert.equal(child.exitCode, null, `the CLI ended before it waited for the lock: ${stderr}`);
    const sentAt = performance.now();
    child.kill('SIGINT');
    const { code, at } = await exited;
    assert.equal(code, 130, stderr);
    assert.ok(at - sentAt < 500, `ended ${Math.round(at - sentAt)} ms after SIGINT`);
    assert.match(stderr, /cancelled/);
  });
});

describe('checking a large backup database', () => {
  let tmp: string;
  let backup: string;
  before(async () => {
    tmp = await makeTempDir();
    const env = await copyFixture('trac-1.6-populated', 'env', tmp);
    const db = openTracDatabase(path.join(env, 'db', 'trac.db'));
    try {
      // A plugin's table with two indexes: integrity_check reads it all, for a good part of a second.
      db.exec(
        'CREATE TABLE plugin_log (n INTEGER, text TEXT); CREATE INDEX plugin_log_n ON plugin_log (n); CREATE INDEX plugin_log_text ON plugin_log (text)',
      );
      const insert = db.prepare('INSERT INTO plugin_log VALUES (?, ?)');
      db.transaction(() => {
        for (let n = 0; n < 600_000; n++) {
          insert.run((n * 7919) % 1_000_003, `entry ${n} ${((n * 2654435761) % 2 ** 32).toString(36)}`);
        }
      })();
    } finally {
      db.close();
    }
    backup = (await hotcopy(env, path.join(tmp, 'backups', 'b1'))).dest;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it("runs SQLite's integrity_check off the main thread: timers keep running meanwhile", async () => {
    // How long the check holds the thread it runs on, measured here on this (busy) machine.
    const started = performance.now();
    assert.equal(checkDatabaseFile(path.join(backup, 'db', 'trac.db'), 'integrity_check').ok, true);
    const checkMs = performance.now() - started;
    assert.ok(checkMs > 300, `the check took only ${Math.round(checkMs)} ms: make the database larger`);

    const { result, stallMs } = await longestStall(() => verifyBackup(backup));

    assert.equal(result?.ok, true, JSON.stringify(result?.problems));
    assert.ok(
      stallMs < Math.max(STALL_LIMIT_MS, checkMs / 3),
      `the event loop stalled for ${Math.round(stallMs)} ms (the check takes ${Math.round(checkMs)} ms)`,
    );
  });
});
