import { accessSync, closeSync, constants, copyFileSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AttachmentRow, readAttachmentRows } from '../trac/attachments';
import { describeError, errnoCode } from '../shared/errors';
import { SqliteDatabase, openDatabase, openImmutable, sqliteSideFiles } from './sqlite';
import { isSqliteHeader, tryQueryDatabaseVersion } from './tracDatabase';

/** `integrity_check` reads every page and index; `quick_check` skips the index contents (much faster). */
export type DatabaseCheckKind = 'integrity_check' | 'quick_check';

export interface DatabaseCheck {
  ok: boolean;
  /** What is wrong, in SQLite's words where it has some; empty when ok. */
  problems: string[];
  /** Trac's `database_version`, when it could be read. */
  version?: string;
  /** With `withAttachments`, when the database passed: its `attachment` rows, or why they could not be read. */
  attachments?: AttachmentRow[];
  attachmentsError?: string;
}

/** SQLite lists up to this many problems; a few say enough. */
const SHOWN_PROBLEMS = 3;

/**
 * Checks a database file that nothing else uses (a backup, or a copy being restored) without
 * ever writing to it: the header, that the file holds the pages the header counts, then SQLite's
 * own check (see readUnshared: nothing is made beside it, so read-only media are fine).
 */
export function checkDatabaseFile(file: string, kind: DatabaseCheckKind, options: { withAttachments?: boolean } = {}): DatabaseCheck {
  const headerProblem = checkHeader(file);
  if (headerProblem) {
    return { ok: false, problems: [headerProblem] };
  }
  try {
    return readUnshared(file, (db) => {
      const rows = db.pragma(kind) as Array<Record<string, string>>;
      // SQLite's report spans lines ("*** in database main ***", then one line per problem).
      const messages = rows
        .flatMap((row) => String(Object.values(row)[0]).split('\n'))
        .map((line) => line.trim())
        .filter((line) => line !== '' && !/^\*\*\* in database \w+ \*\*\*$/.test(line));
      if (messages.length !== 1 || messages[0] !== 'ok') {
        const shown = messages.slice(0, SHOWN_PROBLEMS).join('; ');
        const more = messages.length > SHOWN_PROBLEMS ? ` (and ${messages.length - SHOWN_PROBLEMS} more)` : '';
        return { ok: false, problems: [`fails SQLite's ${kind}: ${shown}${more}`] };
      }
      const passed: DatabaseCheck = { ok: true, problems: [], version: tryQueryDatabaseVersion(db) };
      if (options.withAttachments) {
        try {
          passed.attachments = readAttachmentRows(db);
        } catch (error) {
          passed.attachmentsError = describeError(error);
        }
      }
      return passed;
    });
  } catch (error) {
    return { ok: false, problems: [`cannot be read by SQLite (${describeError(error)})`] };
  }
}

/**
 * Runs fn on a read-only connection to a database that no other process uses (a backup, a copy),
 * opened as SQLite's immutable file: no lock is taken and no -wal or -shm is made, so it works on
 * read-only media, for a user who cannot write the folder, and leaves the folder as it was.
 * Immutable means SQLite reads the main file alone: when a -wal or -journal with content lies
 * beside it (a plain copy of a live environment), the file and those are copied into a private
 * temporary folder and read there, as SQLite would read them in place; so is a file SQLite could
 * not open as immutable.
 */
export function readUnshared<T>(file: string, fn: (db: SqliteDatabase) => T): T {
  const sides = sqliteSideFiles(file).filter((side) => /-(wal|journal)$/.test(side) && hasContent(side));
  const db = sides.length === 0 ? openImmutableOrNot(file) : undefined;
  if (db) {
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }
  const folder = mkdtempSync(path.join(os.tmpdir(), 'trac-backup-read-'));
  try {
    const copy = path.join(folder, path.basename(file));
    for (const source of [file, ...sides]) {
      copyFileSync(source, copy + source.slice(file.length));
    }
    const db = openDatabase(copy, 'read-write');
    try {
      return fn(db);
    } finally {
      db.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * The immutable connection; undefined when SQLite could not open the URI filename of a file that
 * can be read (URI filenames off in this process: the binding was loaded by someone else first),
 * so that the caller reads a copy instead.
 */
function openImmutableOrNot(file: string): SqliteDatabase | undefined {
  try {
    return openImmutable(file);
  } catch (error) {
    if (errnoCode(error) === 'SQLITE_CANTOPEN' && isReadable(file)) {
      return undefined;
    }
    throw error;
  }
}

function isReadable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function hasContent(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

/**
 * The 100-byte header says the page size and, when its "valid-for" counter matches the change
 * counter, how many pages the file has: a truncated copy is caught here even where the missing
 * pages were free ones that SQLite's checks never read.
 */
function checkHeader(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    return `cannot be opened (${describeError(error)})`;
  }
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(100);
    const read = readSync(fd, header, 0, 100, 0);
    if (read < 100 || !isSqliteHeader(header)) {
      return size === 0 ? 'is empty, not an SQLite database' : 'is not an SQLite database (its header is wrong)';
    }
    const rawPageSize = header.readUInt16BE(16);
    const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
      return `has an invalid page size in its header (${rawPageSize})`;
    }
    if (size % pageSize !== 0) {
      return `is cut short or padded: ${size} bytes is not a whole number of ${pageSize}-byte pages`;
    }
    const headerPages = header.readUInt32BE(28);
    const countIsValid = header.readUInt32BE(92) === header.readUInt32BE(24);
    if (countIsValid && headerPages > 0 && headerPages * pageSize > size) {
      return `is cut short: its header counts ${headerPages} pages, the file holds ${size / pageSize}`;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
