import { existsSync, promises as fs } from 'node:fs';
import { DatabaseCheckThread, checkDatabaseOffThread } from './databaseCheckThread';
import { TracBackupError, describeError, isCancelled, throwIfAborted } from '../shared/errors';
import { formatDuration } from '../shared/format';
import { BUSY_TIMEOUT_MS, DatabaseBusyError, SqliteDatabase, openDatabase, openReadOnly, retryWhileBusy, sqliteSideFiles } from './sqlite';
import { openForReading, queryDatabaseVersion, readSqliteHeader } from './tracDatabase';

/** Larger databases go through the backup API to disk rather than through memory. */
const IN_MEMORY_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/** Databases locked by a backup in this process, with what resolves when it lets go. */
const heldInProcess = new Map<string, Promise<void>>();

export { sqliteSideFiles } from './sqlite';

/**
 * Resolves once no backup in this process holds the database's write lock. Reading the file
 * directly (its header) opens and closes a descriptor, and closing any descriptor of a file drops
 * every POSIX lock this process holds on it, that lock included: such a read must wait, and then
 * run without awaiting anything in between.
 */
export async function whenNotLockedInProcess(file: string): Promise<void> {
  for (let other = heldInProcess.get(file); other; other = heldInProcess.get(file)) {
    await other;
  }
}

/**
 * Two connections to a live Trac database: `writer` only takes Trac's write lock (BEGIN
 * IMMEDIATE, then ROLLBACK: it never writes), `reader` reads: the attachment rows, and the
 * snapshot, which must come from a second connection (SQLite's backup from the connection
 * holding BEGIN IMMEDIATE copies nothing). While the lock is held no Trac transaction
 * can start, so none is half done: the attachment files on disk agree with the database.
 */
export class DatabaseSnapshotter {
  private lockedAt: number | undefined;
  private releaseInProcess: () => void = () => undefined;

  private constructor(
    readonly file: string,
    private readonly reader: SqliteDatabase,
    private readonly writer: SqliteDatabase,
    private readonly walExisted: boolean,
  ) {}

  static open(file: string): DatabaseSnapshotter {
    const walExisted = existsSync(`${file}-wal`);
    const reader = openReadOnly(file);
    let writer: SqliteDatabase;
    try {
      writer = openDatabase(file, 'read-write');
    } catch (error) {
      reader.close();
      throw new TracBackupError(
        'DATABASE_LOCK_FAILED',
        `Can't open ${file} for writing, which taking Trac's write lock needs (${describeError(error)}): ` +
          'run the backup as a user who can write the database, like Trac does, or leave the database out (--no-database).',
        file,
        { cause: error },
      );
    }
    return new DatabaseSnapshotter(file, reader, writer, walExisted);
  }

  /**
   * Waits (up to the busy timeout) for running writers, then keeps new ones out. The waiting is
   * done here, between attempts, not in SQLite's busy handler: that one sleeps inside the call
   * and would freeze the whole process (an extension host, or another backup in it) meanwhile.
   */
  async lock(signal?: AbortSignal): Promise<void> {
    // A backup of the same database elsewhere in this process: wait for its release first.
    for (let other = heldInProcess.get(this.file); other; other = heldInProcess.get(this.file)) {
      await other;
      throwIfAborted(signal, 'The backup');
    }
    let release!: () => void;
    heldInProcess.set(this.file, new Promise<void>((resolve) => (release = resolve)));
    this.releaseInProcess = () => {
      heldInProcess.delete(this.file);
      release();
    };
    try {
      await retryWhileBusy(this.file, () => this.writer.exec('BEGIN IMMEDIATE'), {
        timeoutMs: BUSY_TIMEOUT_MS,
        signal,
        what: 'The backup',
      });
    } catch (error) {
      this.releaseInProcess();
      if (isCancelled(error)) {
        throw error;
      }
      throw new TracBackupError(
        'DATABASE_LOCK_FAILED',
        error instanceof DatabaseBusyError
          ? `${this.file} stayed locked by another writer: waited ${formatDuration(error.waitedMs)} for it; try again when Trac is less busy.`
          : `Can't take Trac's write lock on ${this.file} (${describeError(error)}): check the database and its folder's permissions.`,
        this.file,
        { cause: error },
      );
    }
    this.lockedAt = performance.now();
  }

  /** Releases the lock; returns how long it was held, in milliseconds. */
  unlock(): number {
    if (this.lockedAt === undefined) {
      return 0;
    }
    if (this.writer.inTransaction) {
      this.writer.exec('ROLLBACK');
    }
    this.releaseInProcess();
    const heldMs = performance.now() - this.lockedAt;
    this.lockedAt = undefined;
    return heldMs;
  }

  /** Runs fn on the read-only connection (each statement sees the last committed state). */
  read<T>(fn: (db: SqliteDatabase) => T): T {
    return fn(this.reader);
  }

  /**
   * Snapshots the database as of now. A database up to IN_MEMORY_SNAPSHOT_BYTES is serialized
   * into memory (no disk write, and no fsync, while writers wait) and written to target by the
   * returned function, to call once the lock is released; a larger one is copied into target
   * at once with SQLite's backup API. Either way the target is a new file created here
   * (exclusively: never a file or a link already there, which would be written through).
   */
  async snapshot(target: string, sizeHint: number): Promise<() => Promise<void>> {
    // node:sqlite cannot serialize: its snapshot goes through the backup API, under the lock.
    const image = sizeHint <= IN_MEMORY_SNAPSHOT_BYTES ? this.reader.serialize() : undefined;
    if (image) {
      return () => fs.writeFile(target, image, { flag: 'wx', mode: 0o600 });
    }
    // SQLite's backup opens the target path as a database and overwrites whatever it finds there.
    await fs.writeFile(target, '', { flag: 'wx', mode: 0o600 });
    await this.reader.backupTo(target);
    return () => Promise.resolve();
  }

  /**
   * Closes both connections. In WAL mode the last connection to close checkpoints and deletes the
   * -wal file, writing to the source: when a -wal was already there (Trac has it open, or left
   * frames in it), the read-only connection closes last, which never checkpoints; otherwise the
   * writer closes last and only removes the -wal and -shm it created itself.
   */
  close(): void {
    this.unlock();
    const order = this.walExisted ? [this.writer, this.reader] : [this.reader, this.writer];
    for (const db of order) {
      if (db.open) {
        db.close();
      }
    }
  }
}

/**
 * Checks a snapshot with PRAGMA integrity_check, as verify and restore check a backup (a database
 * whose indexes do not match its tables passes quick_check), and reads Trac's database_version
 * from it, in a worker thread (see databaseCheckThread.ts); then removes any side file left beside
 * it (the snapshot is ours: nothing else has it open).
 */
export async function verifySnapshot(file: string, signal?: AbortSignal, thread?: DatabaseCheckThread): Promise<{ version?: string }> {
  const check = thread
    ? await thread.check(file, 'integrity_check', { signal, what: 'The backup' })
    : await checkDatabaseOffThread(file, 'integrity_check', { signal, what: 'The backup' });
  if (!check.ok) {
    throw new TracBackupError(
      'DATABASE_CORRUPT',
      `The database snapshot ${check.problems.join('; ')}: the source database is damaged. Check it with ` +
        '"PRAGMA integrity_check" and repair it (REINDEX for a damaged index) before backing it up.',
      file,
    );
  }
  await Promise.all(sqliteSideFiles(file).map((side) => fs.rm(side, { force: true })));
  return { version: check.version };
}

/**
 * Checks, before copying anything, that the file is an SQLite database we can read, and reads
 * Trac's database_version when asked (waiting for a writer on the event loop, as lock() does).
 */
export async function probeDatabase(file: string, readDatabaseVersion: boolean, signal?: AbortSignal): Promise<{ version?: string }> {
  try {
    const header = readSqliteHeader(file);
    if (!header) {
      throw new TracBackupError('DATABASE_UNREADABLE', `${file} is not an SQLite database: check [trac] database in trac.ini.`, file);
    }
    if (!readDatabaseVersion) {
      return {};
    }
    const read = () => {
      const db = openForReading(file);
      try {
        return { version: queryDatabaseVersion(db) };
      } finally {
        db.close();
      }
    };
    return await retryWhileBusy(file, read, {
      timeoutMs: BUSY_TIMEOUT_MS,
      signal,
      what: 'The backup',
      beforeAttempt: () => whenNotLockedInProcess(file),
    });
  } catch (error) {
    if (error instanceof TracBackupError && error.code === 'SQLITE_UNAVAILABLE' && readDatabaseVersion) {
      return {}; // a backup without the database can do without its version
    }
    if (error instanceof TracBackupError) {
      throw error;
    }
    throw new TracBackupError(
      'DATABASE_UNREADABLE',
      `Can't read the database ${file} (${describeError(error)}): check [trac] database in trac.ini and the file's permissions.`,
      file,
      { cause: error },
    );
  }
}
