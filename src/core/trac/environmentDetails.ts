import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TracBackupError, describeError } from '../shared/errors';
import { TracEnvironment } from './environment';
import { measureTree } from '../fs/fileTree';
import { whenNotLockedInProcess } from '../sqlite/databaseSnapshot';
import { DatabaseBusyError, SqliteLayerName, sqliteLayerInUse } from '../sqlite/sqlite';
import { readLiveDatabaseVersion } from '../sqlite/tracDatabase';
import { isServerLocation } from './databaseUrl';
import { probeServer } from '../serverDatabase/serverContents';

export interface EnvironmentDetails {
  /** All regular files in the environment folder. */
  files: number;
  bytes: number;
  database?: {
    file: string;
    bytes?: number;
    /** Trac's database_version, when the database could be read. */
    version?: string;
    /** Why the database could not be read (binding missing, not a database, …). */
    error?: string;
    /** Set when the SQLite binding itself cannot load here, rather than this database being bad. */
    bindingUnavailable?: boolean;
    /** Set when another process kept the database locked for the short while the list waits. */
    busy?: boolean;
    /** The SQLite layer that read it: better-sqlite3, or node:sqlite where that cannot load. */
    layer?: SqliteLayerName;
  };
  attachments: { files: number; bytes: number };
  /** A PostgreSQL or MySQL/MariaDB database: the server and database (no password), reachable or why not. */
  server?: {
    display: string;
    reachable: boolean;
    bytes?: number;
    version?: string;
    tickets?: number;
    wikiPages?: number;
    error?: string;
  };
}

/** How long the list waits for a database server before it shows it as unreachable. */
const SERVER_WAIT_MS = 1000;

/**
 * How long the list waits for a database another process keeps locked (a Trac writing, a
 * BEGIN EXCLUSIVE) before it shows the database as busy: the list must come at once.
 */
export const LIST_WAIT_MS = 250;

/**
 * Sizes and versions worth seeing at a glance. Reads the database read-only, never waiting in
 * SQLite (which would freeze the extension host): a database locked longer than LIST_WAIT_MS is
 * marked busy.
 */
export async function readEnvironmentDetails(environment: TracEnvironment): Promise<EnvironmentDetails> {
  const [all, attachments] = await Promise.all([
    measureTree(environment.path),
    measureTree(path.join(environment.path, 'files', 'attachments')),
  ]);
  const details: EnvironmentDetails = { ...all, attachments };
  const database = environment.database;
  if (isServerLocation(database)) {
    const probe = await probeServer(database, SERVER_WAIT_MS);
    details.server = probe.reachable
      ? { display: database.display, reachable: true, ...probe.contents }
      : { display: database.display, reachable: false, error: probe.error };
  }
  if (database?.kind === 'sqlite') {
    details.database = { file: database.file };
    try {
      details.database.bytes = (await fs.stat(database.file)).size;
      details.database.version = await readLiveDatabaseVersion(database.file, {
        timeoutMs: LIST_WAIT_MS,
        // Reading the header with a plain open and close would drop the write lock of a backup
        // of this database running in this process (POSIX locks belong to the process).
        beforeAttempt: () => whenNotLockedInProcess(database.file),
      });
      details.database.layer = sqliteLayerInUse();
    } catch (error) {
      if (error instanceof DatabaseBusyError) {
        details.database.busy = true;
      } else {
        details.database.error = describeError(error);
        details.database.bindingUnavailable = error instanceof TracBackupError && error.code === 'SQLITE_UNAVAILABLE';
      }
    }
  }
  return details;
}
