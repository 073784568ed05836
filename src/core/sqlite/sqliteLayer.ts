/**
 * The one small interface every SQLite connection of this tool goes through, whichever binding
 * is under it: better-sqlite3 where its native module loads, Node's built-in `node:sqlite`
 * otherwise (see sqlite.ts, which chooses). Only what the tool uses is here.
 */

/** The two bindings. */
export type SqliteLayerName = 'better-sqlite3' | 'node:sqlite';

/** What a column holds, as both layers return it (blobs as Buffer). */
export type SqliteValue = string | number | bigint | Buffer | null;

/** A bound parameter. */
export type SqliteParameter = string | number | bigint | Buffer | null;

export interface SqliteStatement<Row = Record<string, SqliteValue>> {
  /** The first row, or undefined. */
  get(...parameters: SqliteParameter[]): Row | undefined;
  /** Every row, as plain objects keyed by column name. */
  all(...parameters: SqliteParameter[]): Row[];
  /** Every row, as an array of its columns in order. */
  values(...parameters: SqliteParameter[]): SqliteValue[][];
  run(...parameters: SqliteParameter[]): void;
}

export interface SqliteDatabase {
  /** Which binding this connection is made by. */
  readonly layer: SqliteLayerName;
  readonly open: boolean;
  readonly inTransaction: boolean;
  exec(sql: string): void;
  prepare<Row = Record<string, SqliteValue>>(sql: string): SqliteStatement<Row>;
  /** `PRAGMA <pragma>`'s rows. */
  pragma(pragma: string): Array<Record<string, SqliteValue>>;
  /** fn inside BEGIN … COMMIT (ROLLBACK when it throws). */
  transaction<T>(fn: () => T): () => T;
  /** The whole database as one buffer (sqlite3_serialize); undefined where the layer cannot (node:sqlite on Node 22). */
  serialize(): Buffer | undefined;
  /** Copies the database into target with SQLite's backup API, all pages in one step. */
  backupTo(target: string): Promise<void>;
  close(): void;
}

/** How a layer opens a file (see openDatabase in sqlite.ts). */
export interface SqliteOpenOptions {
  readonly: boolean;
  /** file is a URI filename (file:…?immutable=1). */
  uri: boolean;
}

export interface SqliteLayer {
  readonly name: SqliteLayerName;
  /** The binding's and SQLite's versions, for the log and the tree. */
  readonly version: string;
  /** Opens an existing database (never creates one); busy timeout 0. */
  open(file: string, options: SqliteOpenOptions): SqliteDatabase;
}

/** SQLite's primary result codes by number, for errors of a layer that gives only the number. */
const PRIMARY_CODES: Record<number, string> = {
  1: 'SQLITE_ERROR',
  2: 'SQLITE_INTERNAL',
  3: 'SQLITE_PERM',
  4: 'SQLITE_ABORT',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  7: 'SQLITE_NOMEM',
  8: 'SQLITE_READONLY',
  9: 'SQLITE_INTERRUPT',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  12: 'SQLITE_NOTFOUND',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  15: 'SQLITE_PROTOCOL',
  16: 'SQLITE_EMPTY',
  17: 'SQLITE_SCHEMA',
  18: 'SQLITE_TOOBIG',
  19: 'SQLITE_CONSTRAINT',
  20: 'SQLITE_MISMATCH',
  21: 'SQLITE_MISUSE',
  22: 'SQLITE_NOLFS',
  23: 'SQLITE_AUTH',
  24: 'SQLITE_FORMAT',
  25: 'SQLITE_RANGE',
  26: 'SQLITE_NOTADB',
};

/** `SQLITE_BUSY` for 5, `SQLITE_BUSY` for 517 (SQLITE_BUSY_SNAPSHOT: the primary code is its low byte). */
export function sqliteCodeName(errcode: number): string {
  return PRIMARY_CODES[errcode & 0xff] ?? `SQLITE_${errcode}`;
}

/** An SQLite failure with better-sqlite3's shape (`code` = 'SQLITE_BUSY', …), whichever layer raised it. */
export class SqliteError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SqliteError';
  }
}
