import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkDatabaseFile } from '../../../src/core/sqlite/databaseCheck';
import { describeError } from '../../../src/core/shared/errors';
import { BUSY_TIMEOUT_MS } from '../../../src/core/sqlite/sqlite';
import { readEnvironment } from '../../../src/core/trac/environment';
import { readEnvironmentDetails } from '../../../src/core/trac/environmentDetails';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { detectLiveTrac } from '../../../src/core/trac/liveTrac';
import { describeRestore } from '../../../src/core/restore/restorePlan';
import { verifyBackup } from '../../../src/core/verify/verify';
import { BUILT_CLI } from '../../support/cliRun';
import { StartedChild, startNode } from '../../support/childProcess';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { openTracDatabase } from '../../support/database';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/**
 * The longest the event loop may go without running a timer. SQLite waiting in its busy handler
 * held it for the whole wait (10 s), integrity_check on the main thread for the whole check (a
 * second here); a busy machine running other tests beside may still delay a timer a little.
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
  let database: string;
  let holder: StartedChild | undefined;
  before(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--only=cli'], { cwd: ROOT, stdio: 'pipe' });
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    database = path.join(env, 'db', 'trac.db');
    holder = await holdExclusive(database);
  });
  after(async () => {
    if (holder) {
      await release(holder);
    }
    await removeTempDir(tmp);
  });

  it('the list reads the environment within a fraction of a second and marks the database busy', async () => {
    const environment = await readEnvironment(env);
    const { result: details, stallMs, elapsedMs } = await longestStall(() => readEnvironmentDetails(environment));
    assert.ok(elapsedMs < 500, `took ${Math.round(elapsedMs)} ms`);
    assert.ok(stallMs < STALL_LIMIT_MS, `the event loop stalled for ${Math.round(stallMs)} ms`);
    assert.equal(details?.database?.busy, true, JSON.stringify(details?.database));
    assert.equal(details?.database?.version, undefined);
    assert.ok((details?.files ?? 0) > 40, 'the files are measured all the same');
  });

  it('finding a running Trac says locked, quickly, without stalling', async () => {
    const { result: report, stallMs, elapsedMs } = await longestStall(() => detectLiveTrac(env));
    assert.equal(report?.lock, 'locked');
    assert.ok(elapsedMs < 1500, `took ${Math.round(elapsedMs)} ms`);
    assert.ok(stallMs < STALL_LIMIT_MS, `the event loop stalled for ${Math.round(stallMs)} ms`);
  });

  it("a restore's plan leaves 'changed since the backup' unknown rather than waiting", async () => {
    const other = await copyFixture('trac-1.6-fresh', 'other', tmp);
    const backup = (await hotcopy(other, path.join(tmp, 'backups', 'b1'))).dest;
    const { result: plan, stallMs, elapsedMs } = await longestStall(() => describeRestore(backup, env));
    assert.equal(plan?.target, 'environment');
    assert.equal(plan?.changedSinceBackup, undefined);
    assert.ok(elapsedMs < 1500, `took ${Math.round(elapsedMs)} ms`);
    assert.ok(stallMs < STALL_LIMIT_MS, `the event loop stalled for ${Math.round(stallMs)} ms`);
  });

  it('a backup gives up after the stated wait, saying how long it really waited, without stalling the process', async () => {
    const { error, stallMs, elapsedMs } = await longestStall(() => hotcopy(env, path.join(tmp, 'locked-out', 'b1')));
    assert.ok(error, 'the backup failed');
    assert.equal((error as { code?: string }).code, 'DATABASE_LOCK_FAILED', describeError(error));
    const seconds = (BUSY_TIMEOUT_MS / 1000).toFixed(1);
    assert.match((error as Error).message, new RegExp(`waited ${seconds.replace('.', '\\.')} s`));
    assert.ok(elapsedMs >= BUSY_TIMEOUT_MS && elapsedMs < BUSY_TIMEOUT_MS + 2000, `took ${Math.round(elapsedMs)} ms`);
    assert.ok(stallMs < STALL_LIMIT_MS, `the event loop stalled for ${Math.round(stallMs)} ms`);
  });

  it('a backup waiting for the lock stops within half a second of being cancelled', async () => {
    const controller = new AbortController();
    // When the cancel is due, not when a blocked event loop gets round to firing it.
    const cancelDue = performance.now() + 1000;
    setTimeout(() => controller.abort(), 1000);
    await assert.rejects(hotcopy(env, path.join(tmp, 'cancelled', 'b1'), { signal: controller.signal }), { code: 'CANCELLED' });
    const late = performance.now() - cancelDue;
    assert.ok(late < 500, `stopped ${Math.round(late)} ms after the cancel`);
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
    await new Promise((resolve) => setTimeout(resolve, 1500));
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
