import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readEnvironment } from './environment';
import { LeaseHolder, activeLeases, describeHolder } from '../work/lease';
import { TracBackupError } from '../shared/errors';
import { UsingProcess, findProcessesUsing } from './processScan';
import { findProcessesByCommandLine } from './psScan';
import { DatabaseBusyError, openDatabase, retryWhileBusy, sqliteLayer } from '../sqlite/sqlite';
import { fsPlatform, isTransientFsError, renameWithRetry } from '../fs/retry';

export type { UsingProcess } from './processScan';

/** locked: another connection holds a write lock; free: none does; unavailable: could not tell. */
export type LockState = 'locked' | 'free' | 'unavailable' | 'no-database';

export interface LiveTracReport {
  /** Absolute path of the environment. */
  environment: string;
  /** True when the database is locked or a process uses the environment. */
  running: boolean;
  /** The SQLite file whose lock was tried, when there is one. */
  database?: string;
  lock: LockState;
  /** Processes that name the environment on their command line or hold a file of it open. */
  processes: UsingProcess[];
  /** Processes whose open files could not be read (other users' when not root). */
  uncheckedProcesses: number;
  /** One sentence saying what was found, when running. */
  summary?: string;
  /** Backups and restores of the environment in other windows and processes (their leases): not Trac. */
  others: LeaseHolder[];
  /** Windows: the folder could not be renamed, so a process holds a file in it open (see folderHeldOpen). */
  heldOpen?: boolean;
}

export interface LiveTracOptions {
  /** The database to try the lock on; default: the one the environment's trac.ini names. */
  databaseFile?: string;
  /** How long to wait for a writer to finish before calling the database locked. */
  lockTimeoutMs?: number;
  /** false: only look for processes, never open the database nor rename the folder (a backup must not be written to). Default true. */
  tryLock?: boolean;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 300;

/**
 * Finds out whether Trac (or anything else) is using an environment right now: its SQLite
 * database locked by another process (a write lock tried with BEGIN IMMEDIATE and let go at once:
 * nothing is ever written), and processes with the environment's path on their command line
 * (tracd; from /proc on Linux, from ps on macOS and the BSDs) or, on Linux, a file of it open.
 * Trac between two requests holds no lock: the process scan is what finds an idle tracd.
 */
export async function detectLiveTrac(environmentPath: string, options: LiveTracOptions = {}): Promise<LiveTracReport> {
  const environment = path.resolve(environmentPath);
  let database = options.databaseFile;
  if (database === undefined) {
    const found = await readEnvironment(environment);
    database = found.database?.kind === 'sqlite' ? found.database.file : undefined;
  }
  const lock: LockState = !database
    ? 'no-database'
    : options.tryLock === false
      ? 'unavailable'
      : await tryWriteLock(database, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  const paths = [environment, await fs.realpath(environment).catch(() => environment)];
  if (database) {
    paths.push(database, await fs.realpath(database).catch(() => database));
  }
  let scan = findProcessesUsing(paths);
  if (!scan.supported && process.platform !== 'win32') {
    // No /proc (macOS, the BSDs): command lines from ps still find a tracd. Windows has neither.
    scan = findProcessesByCommandLine(paths);
  }
  // A backup or restore in another window or process has the environment's files open, and may
  // hold the database's lock for its snapshot: that is Trac Backup, not Trac, and is said as such.
  const others = (await activeLeases(environment)).filter((holder) => holder.pid !== process.pid);
  const ours = new Set(others.map((holder) => holder.pid));
  const processes = scan.processes.filter((found) => !ours.has(found.pid));
  const lockIsOurs = lock === 'locked' && others.some((holder) => holder.kind !== 'restore');
  // Windows has no list of open files to read: a folder that cannot be renamed is in use.
  const heldOpen = fsPlatform() === 'win32' && options.tryLock !== false && others.length === 0 && (await folderHeldOpen(environment));
  const running = (lock === 'locked' && !lockIsOurs) || processes.length > 0 || heldOpen;
  return {
    environment,
    running,
    database,
    lock,
    processes,
    uncheckedProcesses: scan.unreadable,
    summary: running ? summarize(environment, database, lockIsOurs ? 'free' : lock, processes, heldOpen) : undefined,
    others,
    ...(heldOpen && { heldOpen }),
  };
}

/** The refusal to replace an environment another window or process of Trac Backup is working on. */
export function busyWithOthersError(report: LiveTracReport): TracBackupError {
  return new TracBackupError(
    'ENVIRONMENT_BUSY',
    `Can't restore ${report.environment} now: ${report.others.map(describeHolder).join('; ')} is working on it. Wait for it to finish, then try again.`,
    report.environment,
  );
}

/** The refusal to replace an environment Trac is using: names what was found and what to do. */
export function tracRunningError(report: LiveTracReport): TracBackupError {
  const stop = report.processes.length === 0 ? 'Stop Trac' : `Stop ${report.processes.length > 1 ? 'them' : 'it'}`;
  return new TracBackupError(
    'TRAC_RUNNING',
    `${report.summary} ${stop} (for tracd: stop the server), then restore again; or restore anyway with force (--force).`,
    report.environment,
  );
}

/**
 * Takes and drops SQLite's write lock on a connection that never writes, waiting up to
 * `timeoutMs` for a writer to finish: on the event loop (retryWhileBusy), never in SQLite.
 */
export async function tryWriteLock(file: string, timeoutMs: number): Promise<LockState> {
  if (!existsSync(file)) {
    return 'no-database';
  }
  sqliteLayer(); // where the binding cannot load, that is said as such, not as 'unavailable'
  // The last connection to close checkpoints a -wal into the database and deletes it: when one is
  // there, a read-only connection (which never checkpoints) is opened first and closed last.
  let keeper;
  let db;
  try {
    keeper = existsSync(`${file}-wal`) ? openDatabase(file, 'read-only') : undefined;
    db = openDatabase(file, 'read-write');
  } catch {
    keeper?.close();
    return 'unavailable';
  }
  const writer = db;
  try {
    await retryWhileBusy(
      file,
      () => {
        // Connections are opened lazily: a first read makes the keeper hold the database open.
        keeper?.prepare('SELECT count(*) FROM sqlite_master').get();
        writer.exec('BEGIN IMMEDIATE');
        writer.exec('ROLLBACK');
      },
      { timeoutMs },
    );
    return 'free';
  } catch (error) {
    return error instanceof DatabaseBusyError ? 'locked' : 'unavailable';
  } finally {
    writer.close();
    keeper?.close();
  }
}

/**
 * Windows: whether a process holds a file of `folder` open (Trac's database or log, tracd's or
 * Apache's working folder, a terminal or an editor inside it), which makes renaming the folder
 * fail there, as a restore's swap would. Tried once, with a rename to a name beside it and back
 * at once (the way back retried for up to a minute). A refusal that lasts a moment (an antivirus
 * scan) is reported too: the restore is refused, and can be tried again.
 */
export async function folderHeldOpen(folder: string): Promise<boolean> {
  const probe = `${folder}.in-use-check-${process.pid}`;
  try {
    await renameWithRetry(folder, probe, { budgetMs: 0 });
  } catch (error) {
    return isTransientFsError(error);
  }
  await renameWithRetry(probe, folder, { budgetMs: 60_000 });
  return false;
}

function summarize(
  environment: string,
  database: string | undefined,
  lock: LockState,
  processes: UsingProcess[],
  heldOpen = false,
): string {
  const findings: string[] = [];
  if (heldOpen) {
    findings.push('its folder cannot be renamed, so a process holds a file in it open (tracd, Apache, a terminal or an editor)');
  }
  if (lock === 'locked') {
    findings.push(`its database ${database} is locked by another process`);
  }
  for (const found of processes) {
    findings.push(
      found.reason === 'command line'
        ? `process ${found.pid} (${found.command}) names it on its command line`
        : `process ${found.pid} (${found.command}) has ${found.file} open`,
    );
  }
  return `Trac seems to be using ${environment}: ${findings.join('; ')}.`;
}
