import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { BusyRetryOptions, SqliteDatabase, openDatabase, openReadOnly, retryWhileBusy } from './sqlite';

const SQLITE_MAGIC = 'SQLite format 3\0';

/** True when a file's first 100 bytes are an SQLite header. */
export function isSqliteHeader(header: Buffer): boolean {
  return header.length >= 100 && header.toString('latin1', 0, 16) === SQLITE_MAGIC;
}

/** Reads the 100-byte SQLite header: undefined when the file is not an SQLite database. */
export function readSqliteHeader(file: string): { wal: boolean } | undefined {
  const header = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!isSqliteHeader(header)) {
    return undefined;
  }
  // Bytes 18 and 19 (file format write/read versions) are 2 in WAL mode.
  return { wal: header[18] === 2 };
}

/**
 * Opens a live database to read it without leaving a trace. A read-only connection to a WAL
 * database creates -wal and -shm files it cannot remove: when there was no -wal, a read-write
 * connection is used instead (it writes no page), whose close as the last connection removes them
 * again. The busy timeout is 0 (see openReadOnly): wait for a lock with retryWhileBusy.
 */
export function openForReading(file: string): SqliteDatabase {
  if (readSqliteHeader(file)?.wal && !existsSync(`${file}-wal`)) {
    try {
      return openDatabase(file, 'read-write');
    } catch {
      // not writable by us: fall back to read-only, which may leave -wal and -shm behind
    }
  }
  return openReadOnly(file);
}

/** Trac's schema version, from the `system` table (45 for Trac 1.6). Throws when there is no such table. */
export function queryDatabaseVersion(db: SqliteDatabase): string | undefined {
  const row = db.prepare("SELECT value FROM system WHERE name = 'database_version'").get() as { value: string } | undefined;
  return row?.value;
}

/** queryDatabaseVersion, or undefined where the database has no Trac tables (a check reports that itself). */
export function tryQueryDatabaseVersion(db: SqliteDatabase): string | undefined {
  try {
    return queryDatabaseVersion(db);
  } catch {
    return undefined;
  }
}

export function readDatabaseVersion(file: string): string | undefined {
  const db = openForReading(file);
  try {
    return queryDatabaseVersion(db);
  } finally {
    db.close();
  }
}

/**
 * Trac's schema version from a live database, waiting for another process's lock on the event
 * loop, for at most `options.timeoutMs` (then DatabaseBusyError).
 */
export function readLiveDatabaseVersion(file: string, options: BusyRetryOptions): Promise<string | undefined> {
  return retryWhileBusy(file, () => readDatabaseVersion(file), options);
}
