import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { BUSY_TIMEOUT_MS, SqliteDatabase, loadSqlite, openReadOnly } from './sqlite';

const SQLITE_MAGIC = 'SQLite format 3\0';

/** Reads the 100-byte SQLite header: undefined when the file is not an SQLite database. */
export function readSqliteHeader(file: string): { wal: boolean } | undefined {
  const header = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, 16) !== SQLITE_MAGIC) {
    return undefined;
  }
  // Bytes 18 and 19 (file format write/read versions) are 2 in WAL mode.
  return { wal: header[18] === 2 };
}

/**
 * Opens a database to read it without leaving a trace. A read-only connection to a WAL database
 * creates -wal and -shm files it cannot remove: when there was no -wal, a read-write connection
 * is used instead (it writes no page), whose close as the last connection removes them again.
 */
export function openForReading(file: string): SqliteDatabase {
  if (readSqliteHeader(file)?.wal && !existsSync(`${file}-wal`)) {
    try {
      return new (loadSqlite())(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    } catch {
      // not writable by us: fall back to read-only, which may leave -wal and -shm behind
    }
  }
  return openReadOnly(file);
}

/** Trac's schema version, from the `system` table (45 for Trac 1.6). */
export function queryDatabaseVersion(db: SqliteDatabase): string | undefined {
  const row = db.prepare("SELECT value FROM system WHERE name = 'database_version'").get() as { value: string } | undefined;
  return row?.value;
}

export function readDatabaseVersion(file: string): string | undefined {
  const db = openForReading(file);
  try {
    return queryDatabaseVersion(db);
  } finally {
    db.close();
  }
}
