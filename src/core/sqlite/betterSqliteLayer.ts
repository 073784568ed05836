import type BetterSqlite3 from 'better-sqlite3';
import { SqliteDatabase, SqliteLayer, SqliteParameter, SqliteStatement, SqliteValue } from './sqliteLayer';

type BetterSqliteModule = typeof BetterSqlite3;

/** The layer over better-sqlite3 (its native module loaded by the caller). */
export function betterSqliteLayer(Database: BetterSqliteModule): SqliteLayer {
  // The native module loads at the first connection, not at require: where it cannot (a glibc
  // older than its prebuild needs) this throws, and the caller falls back to node:sqlite.
  const probe = new Database(':memory:');
  const sqliteVersion = (probe.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  probe.close();
  return {
    name: 'better-sqlite3',
    version: `better-sqlite3 ${bindingVersion()}, SQLite ${sqliteVersion}`,
    open: (file, options) => new BetterSqliteDatabase(new Database(file, { readonly: options.readonly, fileMustExist: true, timeout: 0 })),
  };
}

function bindingVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the installed package's own version, for the log
    return (require('better-sqlite3/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

class BetterSqliteStatement<Row> implements SqliteStatement<Row> {
  constructor(private readonly statement: BetterSqlite3.Statement<SqliteParameter[], Row>) {}

  get(...parameters: SqliteParameter[]): Row | undefined {
    return this.statement.get(...parameters);
  }

  all(...parameters: SqliteParameter[]): Row[] {
    return this.statement.all(...parameters);
  }

  values(...parameters: SqliteParameter[]): SqliteValue[][] {
    this.statement.raw(true);
    try {
      return this.statement.all(...parameters) as unknown as SqliteValue[][];
    } finally {
      this.statement.raw(false);
    }
  }

  run(...parameters: SqliteParameter[]): void {
    this.statement.run(...parameters);
  }
}

class BetterSqliteDatabase implements SqliteDatabase {
  readonly layer = 'better-sqlite3';

  constructor(private readonly db: BetterSqlite3.Database) {}

  get open(): boolean {
    return this.db.open;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  prepare<Row = Record<string, SqliteValue>>(sql: string): SqliteStatement<Row> {
    return new BetterSqliteStatement(this.db.prepare<SqliteParameter[], Row>(sql));
  }

  pragma(pragma: string): Array<Record<string, SqliteValue>> {
    return this.db.pragma(pragma) as Array<Record<string, SqliteValue>>;
  }

  transaction<T>(fn: () => T): () => T {
    const wrapped = this.db.transaction(fn);
    return () => wrapped();
  }

  serialize(): Buffer {
    return this.db.serialize();
  }

  async backupTo(target: string): Promise<void> {
    await this.db.backup(target, { progress: () => 0x7fffffff });
  }

  close(): void {
    this.db.close();
  }
}
