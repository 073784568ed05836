import { existsSync } from 'node:fs';
import type * as NodeSqlite from 'node:sqlite';
import { SqliteDatabase, SqliteError, SqliteLayer, SqliteParameter, SqliteStatement, SqliteValue, sqliteCodeName } from './sqliteLayer';

type NodeSqliteModule = typeof NodeSqlite;

/**
 * The layer over Node's built-in `node:sqlite` (Node 22.13+, no flag; `backup()` since 22.16):
 * what runs where better-sqlite3's prebuilt binary cannot load (a glibc older than 2.33, RHEL 8,
 * Debian 11, Ubuntu 20.04). Its rows have no prototype and its blobs are Uint8Array: both are
 * given as better-sqlite3 gives them; its errors get better-sqlite3's `code` (SQLITE_BUSY, …).
 */
export function nodeSqliteLayer(sqlite: NodeSqliteModule): SqliteLayer {
  if (typeof sqlite.backup !== 'function') {
    throw new Error(`node:sqlite on Node ${process.versions.node} has no backup() (it needs Node 22.16 or newer)`);
  }
  let sqliteVersion = 'unknown';
  try {
    const probe = new sqlite.DatabaseSync(':memory:');
    sqliteVersion = String((probe.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v);
    probe.close();
  } catch {
    // the version is for the log only
  }
  return {
    name: 'node:sqlite',
    version: `node:sqlite of Node ${process.versions.node}, SQLite ${sqliteVersion}`,
    open: (file, options) => {
      // better-sqlite3's fileMustExist: a read-write open would create a missing file.
      if (!options.uri && !existsSync(file)) {
        throw new SqliteError(`unable to open database file: ${file} does not exist`, 'SQLITE_CANTOPEN');
      }
      const db = translated(() => new sqlite.DatabaseSync(file, { readOnly: options.readonly, timeout: 0 }));
      return new NodeSqliteDatabase(sqlite, db);
    },
  };
}

/** Runs fn, giving an SQLite error better-sqlite3's `code`. */
function translated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translateError(error);
  }
}

function translateError(error: unknown): unknown {
  const failure = error as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  if (failure && failure.code === 'ERR_SQLITE_ERROR' && typeof failure.errcode === 'number') {
    return new SqliteError(String(failure.message), sqliteCodeName(failure.errcode), { cause: error });
  }
  return error;
}

function plainValue(value: unknown): SqliteValue {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return value as SqliteValue;
}

function plainRow(row: unknown): Record<string, SqliteValue> {
  const plain: Record<string, SqliteValue> = {};
  for (const [key, value] of Object.entries(row as Record<string, unknown>)) {
    plain[key] = plainValue(value);
  }
  return plain;
}

class NodeSqliteStatement<Row> implements SqliteStatement<Row> {
  constructor(private readonly statement: NodeSqlite.StatementSync) {}

  get(...parameters: SqliteParameter[]): Row | undefined {
    const row = translated(() => this.statement.get(...parameters));
    return row === undefined ? undefined : (plainRow(row) as Row);
  }

  all(...parameters: SqliteParameter[]): Row[] {
    return translated(() => this.statement.all(...parameters)).map((row) => plainRow(row) as Row);
  }

  values(...parameters: SqliteParameter[]): SqliteValue[][] {
    this.statement.setReturnArrays(true);
    try {
      const rows = translated(() => this.statement.all(...parameters)) as unknown as unknown[][];
      return rows.map((row) => row.map(plainValue));
    } finally {
      this.statement.setReturnArrays(false);
    }
  }

  run(...parameters: SqliteParameter[]): void {
    translated(() => this.statement.run(...parameters));
  }
}

class NodeSqliteDatabase implements SqliteDatabase {
  readonly layer = 'node:sqlite';

  constructor(
    private readonly sqlite: NodeSqliteModule,
    private readonly db: NodeSqlite.DatabaseSync,
  ) {}

  get open(): boolean {
    return this.db.isOpen;
  }

  get inTransaction(): boolean {
    return this.db.isTransaction;
  }

  exec(sql: string): void {
    translated(() => this.db.exec(sql));
  }

  prepare<Row = Record<string, SqliteValue>>(sql: string): SqliteStatement<Row> {
    return new NodeSqliteStatement<Row>(translated(() => this.db.prepare(sql)));
  }

  pragma(pragma: string): Array<Record<string, SqliteValue>> {
    return this.prepare(`PRAGMA ${pragma}`).all();
  }

  transaction<T>(fn: () => T): () => T {
    return () => {
      this.exec('BEGIN');
      try {
        const result = fn();
        this.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.isTransaction) {
          this.exec('ROLLBACK');
        }
        throw error;
      }
    };
  }

  serialize(): undefined {
    return undefined;
  }

  async backupTo(target: string): Promise<void> {
    try {
      // rate -1: every page in one step (sqlite3_backup_step(-1)).
      await this.sqlite.backup(this.db, target, { rate: -1 });
    } catch (error) {
      throw translateError(error);
    }
  }

  close(): void {
    this.db.close();
  }
}
