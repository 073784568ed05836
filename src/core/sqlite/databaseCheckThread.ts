import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DatabaseCheck, DatabaseCheckKind } from './databaseCheck';
import type { CheckRequest } from './databaseCheckWorker';
import { CancelledError, TracBackupError, describeError, throwIfAborted } from '../shared/errors';
import { sqliteLayer } from './sqlite';

/** Next to this file: out/src/core/ for the tests, dist/ in the bundles (scripts/build.mjs builds it there). */
const WORKER_FILE = path.join(__dirname, 'databaseCheckWorker.js');

export interface OffThreadCheckOptions {
  withAttachments?: boolean;
  /**
   * A cancel settles the check at once with CancelledError; the thread is stopped too, which
   * SQLite lets happen once the statement under way (the check itself) returns.
   */
  signal?: AbortSignal;
  what?: string;
}

/**
 * checkDatabaseFile in a worker thread: integrity_check reads every page of the database, which
 * takes seconds on a large one, and in the extension host the main thread must never be held
 * that long (every extension waits for it). The CLI does the same, so that Ctrl-C is answered.
 */
export async function checkDatabaseOffThread(
  file: string,
  kind: DatabaseCheckKind,
  options: OffThreadCheckOptions = {},
): Promise<DatabaseCheck> {
  throwIfAborted(options.signal, options.what);
  return startDatabaseCheckThread().check(file, kind, options);
}

/**
 * A thread for one database check, started before the check is wanted: starting it (a thread,
 * and the SQLite binding loaded in it) takes a good part of a second on a busy machine, which
 * the work meanwhile hides. `check` once, or `stop` it unused.
 */
export interface DatabaseCheckThread {
  check(file: string, kind: DatabaseCheckKind, options?: OffThreadCheckOptions): Promise<DatabaseCheck>;
  stop(): void;
}

export function startDatabaseCheckThread(): DatabaseCheckThread {
  // The layer is chosen here first (better-sqlite3 reads its settings, URI filenames, once per
  // process), and the thread uses the same one.
  const layer = sqliteLayer().name;
  if (!existsSync(WORKER_FILE)) {
    throw new TracBackupError(
      'SQLITE_UNAVAILABLE',
      `The database check's thread ${WORKER_FILE} is missing: reinstall Trac Backup (or run npm run build).`,
      WORKER_FILE,
    );
  }
  const worker = new Worker(WORKER_FILE, { workerData: { layer } });
  let startFailure: Error | undefined;
  let exitCode: number | undefined;
  const onEarlyError = (error: Error) => (startFailure = error);
  const onEarlyExit = (code: number) => (exitCode = code);
  worker.on('error', onEarlyError);
  worker.on('exit', onEarlyExit);
  // Until a check is asked of it, the thread keeps nothing alive (a failure to start is told by
  // check()). After the listeners: adding one can ref the thread again.
  worker.unref();
  let used = false;
  const failedToRun = (file: string, error: unknown) =>
    new TracBackupError('SQLITE_UNAVAILABLE', `The database check of ${file} failed to run: ${describeError(error)}.`, file, {
      cause: error,
    });
  const endedEarly = (file: string, code: number) =>
    new TracBackupError('SQLITE_UNAVAILABLE', `The database check of ${file} ended without a result (exit code ${code}).`, file);
  return {
    stop: () => {
      if (!used) {
        used = true;
        void worker.terminate();
      }
    },
    check: async (file, kind, options = {}) => {
      if (used) {
        throw new Error('a database check thread runs one check');
      }
      used = true;
      worker.off('error', onEarlyError);
      worker.off('exit', onEarlyExit);
      if (options.signal?.aborted) {
        void worker.terminate();
        throw new CancelledError(options.what);
      }
      if (startFailure || exitCode !== undefined) {
        throw startFailure ? failedToRun(file, startFailure) : endedEarly(file, exitCode!);
      }
      worker.ref();
      return new Promise<DatabaseCheck>((resolve, reject) => {
        const settle = (finish: () => void) => {
          options.signal?.removeEventListener('abort', onAbort);
          finish();
        };
        const onAbort = () => {
          settle(() => reject(new CancelledError(options.what)));
          worker.unref();
          void worker.terminate();
        };
        options.signal?.addEventListener('abort', onAbort, { once: true });
        worker.once('message', (result: DatabaseCheck) => settle(() => resolve(result)));
        worker.once('error', (error) => settle(() => reject(failedToRun(file, error))));
        worker.once('exit', (code) => settle(() => reject(endedEarly(file, code))));
        const request: CheckRequest = { file, kind, withAttachments: options.withAttachments ?? false };
        worker.postMessage(request);
      });
    },
  };
}
