import * as path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { TracBackupError } from './errors';

export type SqliteDatabase = BetterSqlite3.Database;
type SqliteModule = typeof BetterSqlite3;

/** Node-API version that better-sqlite3 13 is built for. */
const REQUIRED_NAPI = 10;
const REQUIRED_NODE_MAJOR = 22;

let loaded: SqliteModule | undefined;

/** Platform, Node and Node-API versions: what decides whether the binding loads. */
export function runtimeDescription(): string {
  return `platform ${process.platform}-${process.arch}, Node ${process.versions.node}, ` +
    `N-API ${process.versions.napi ?? 'unknown'}` +
    (process.versions.electron ? `, Electron ${process.versions.electron}` : '');
}

/**
 * Why better-sqlite3 13 cannot load on this runtime, or undefined when it can. On a Node older
 * than 22 its binding crashes the process at require (no try/catch can catch that), so this
 * is checked before requiring it.
 */
export function runtimeProblem(versions: NodeJS.ProcessVersions = process.versions): string | undefined {
  const nodeMajor = Number(versions.node.split('.')[0]);
  const napi = Number(versions.napi ?? 0);
  if (nodeMajor >= REQUIRED_NODE_MAJOR && napi >= REQUIRED_NAPI) {
    return undefined;
  }
  return (
    `The SQLite binding needs Node ${REQUIRED_NODE_MAJOR}+ with N-API ${REQUIRED_NAPI} (VS Code 1.101 or newer); ` +
    `this is Node ${versions.node} with N-API ${versions.napi ?? 'unknown'}. ` +
    'Update VS Code (or run the CLI with Node 22) to read and back up databases.'
  );
}

/** Loads better-sqlite3 on first use, with a clear error where it cannot load. */
export function loadSqlite(): SqliteModule {
  if (loaded) {
    return loaded;
  }
  const problem = runtimeProblem();
  if (problem) {
    throw new TracBackupError('SQLITE_UNAVAILABLE', problem);
  }
  // Backups are opened by URI filename (file:…?immutable=1): better-sqlite3 turns URI filenames
  // on for the whole process when this is set as its binding loads (it reads it once).
  process.env.SQLITE_USE_URI = '1';
  try {
    loaded = require('better-sqlite3') as SqliteModule;
  } catch (error) {
    throw new TracBackupError(
      'SQLITE_UNAVAILABLE',
      `The SQLite binding (better-sqlite3) could not be loaded on ${runtimeDescription()}: ` +
        `${(error as Error).message}. Reinstall the extension; if it persists, report this platform.`,
      undefined,
      { cause: error },
    );
  }
  return loaded;
}

const SIDE_FILE_SUFFIXES = ['-journal', '-wal', '-shm', '-stmtjrnl'];

/** The files SQLite keeps beside a database: never part of a backup. */
export function sqliteSideFiles(file: string): string[] {
  return SIDE_FILE_SUFFIXES.map((suffix) => file + suffix);
}

/** How long a connection waits for another process's lock before giving up. */
export const BUSY_TIMEOUT_MS = 10_000;

/** Opens an existing database without ever writing to it. */
export function openReadOnly(file: string): SqliteDatabase {
  const Database = loadSqlite();
  return new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
}

/** Runs fn with a read-only connection that is always closed afterwards. */
export function withReadOnlyDatabase<T>(file: string, fn: (db: SqliteDatabase) => T): T {
  const db = openReadOnly(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * The URI filename of a file, with query parameters (`immutable=1`, `mode=ro`): `%`, `?` and `#`
 * escaped, Windows drive paths as file:///C:/…
 */
export function sqliteFileUri(file: string, parameters: Record<string, string>): string {
  const slashed = path.resolve(file).split(path.sep).join('/');
  const rooted = slashed.startsWith('/') ? slashed : `/${slashed}`;
  const escaped = rooted.replace(/[%?#]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return `file://${escaped}?${new URLSearchParams(parameters).toString()}`;
}

/**
 * Opens a database file that nothing writes (a backup, a copy of one) as SQLite's immutable
 * file: read-only, no locks, no -wal or -shm made or read. So it opens on read-only media and
 * for a user who cannot write its folder, a WAL-mode database too, and leaves no trace.
 */
export function openImmutable(file: string): SqliteDatabase {
  const Database = loadSqlite();
  return new Database(sqliteFileUri(file, { mode: 'ro', immutable: '1' }), { readonly: true, fileMustExist: true, timeout: 0 });
}
