import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { walkTree } from '../fs/fileTree';
import { SqliteDatabase, SqliteStatement, SqliteValue, withReadOnlyDatabase } from '../sqlite/sqlite';

/** Where Trac keeps attachment files, relative to the environment. */
export const ATTACHMENTS_DIR = 'files/attachments';

export interface AttachmentRow {
  type: string;
  id: string;
  filename: string;
  size: number;
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/**
 * Where Trac 1.x stores an attachment (trac.attachment.Attachment._get_path):
 * files/attachments/<realm>/<sha1(parent id)[:3]>/<sha1(parent id)>/<sha1(filename)><ext>, where
 * <ext> is what Trac's `\.[A-Za-z0-9]+\Z` matches: `.gz` of `a.tar.gz`, `.htaccess` whole, and
 * nothing for `a.b-c` or `file.` (not what path.extname says).
 */
export function attachmentRelativePath(realm: string, parentId: string, filename: string): string {
  const parent = sha1(parentId);
  const extension = /\.[A-Za-z0-9]+$/.exec(filename)?.[0] ?? '';
  return `${ATTACHMENTS_DIR}/${realm}/${parent.slice(0, 3)}/${parent}/${sha1(filename)}${extension}`;
}

/** Every row of the `attachment` table (the columns that name its file). */
export function readAttachmentRows(db: SqliteDatabase): AttachmentRow[] {
  return db.prepare<AttachmentRow>('SELECT type, id, filename, size FROM attachment').all();
}

/** `ticket:30/log-1.bin`: a row as a person finds it in Trac. */
export function describeAttachmentRow(row: Pick<AttachmentRow, 'type' | 'id' | 'filename'>): string {
  return `${row.type}:${row.id}/${row.filename}`;
}

export interface AttachmentMismatches {
  /** Rows whose file is missing: `<realm>:<id>/<filename>`. */
  missingFiles: string[];
  /** Files under files/attachments that no row accounts for (relative paths). */
  unlistedFiles: string[];
  rows: number;
}

/** Compares the `attachment` table of dbFile with the files under root's files/attachments. */
export async function findAttachmentMismatches(root: string, dbFile: string): Promise<AttachmentMismatches> {
  const rows = withReadOnlyDatabase(dbFile, readAttachmentRows);
  let files: string[] = [];
  try {
    const entries = await walkTree(path.join(root, ...ATTACHMENTS_DIR.split('/')));
    files = entries.filter((entry) => entry.kind === 'file').map((entry) => `${ATTACHMENTS_DIR}/${entry.relative}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }
  const onDisk = new Set(files);
  const expected = new Set<string>();
  const missingFiles: string[] = [];
  for (const row of rows) {
    const relative = attachmentRelativePath(row.type, row.id, row.filename);
    expected.add(relative);
    if (!onDisk.has(relative)) {
      missingFiles.push(describeAttachmentRow(row));
    }
  }
  return { missingFiles, unlistedFiles: files.filter((file) => !expected.has(file)), rows: rows.length };
}

export interface AttachmentChanges {
  /** Rows added or changed since the last read: path → signature. */
  rows: Map<string, string>;
  /** Paths that rows changed or deleted since the last read pointed at. */
  vacated: Set<string>;
}

/**
 * The `attachment` table of a live database, seen through one connection (read-only is enough:
 * it writes only to its own TEMP table). read() lists every row as `path → signature` (realm, id,
 * filename, size and time: a row added, replaced, moved or resized gets a new signature) and
 * keeps that list in SQLite; changes() then asks SQLite what differs from it, which costs one
 * pass over the table in SQLite and JavaScript work only for the rows that changed: the cheap
 * question to ask while Trac's writers wait.
 */
export class AttachmentIndex {
  private readonly byRowid = new Map<number, { path: string; signature: string }>();
  private readonly paths = new Map<string, string>();
  private statements?: {
    refresh: () => void;
    seen: SqliteStatement;
    changed: SqliteStatement;
    gone: SqliteStatement;
  };

  constructor(private readonly db: SqliteDatabase) {}

  /** Every row, as path → signature; remembered as the base for changes(). */
  read(): Map<string, string> {
    const statements = this.prepare();
    statements.refresh();
    this.byRowid.clear();
    const result = new Map<string, string>();
    for (const row of statements.seen.values()) {
      const entry = this.describe(row);
      this.byRowid.set(Number(row[0]), entry);
      result.set(entry.path, entry.signature);
    }
    return result;
  }

  /** What differs from the last read(). */
  changes(): AttachmentChanges {
    const statements = this.prepare();
    const rows = new Map<string, string>();
    const vacated = new Set<string>();
    for (const row of statements.changed.values()) {
      const entry = this.describe(row);
      rows.set(entry.path, entry.signature);
      const before = this.byRowid.get(Number(row[0]));
      if (before && before.path !== entry.path) {
        vacated.add(before.path);
      }
    }
    for (const [rowid] of statements.gone.values()) {
      const before = this.byRowid.get(Number(rowid));
      if (before) {
        vacated.add(before.path);
      }
    }
    return { rows, vacated };
  }

  /** rowid, type, id, filename, size, time → path and signature (paths cached: sha1 is not free). */
  private describe(row: SqliteValue[]): { path: string; signature: string } {
    const [, type, id, filename, size, time] = row.map((value) => (value === null ? '' : String(value)));
    const key = `${type}\0${id}\0${filename}`;
    let relative = this.paths.get(key);
    if (relative === undefined) {
      relative = attachmentRelativePath(type, id, filename);
      this.paths.set(key, relative);
    }
    return { path: relative, signature: `${key}\0${size}\0${time}` };
  }

  private prepare() {
    if (!this.statements) {
      const db = this.db;
      db.pragma('temp_store = MEMORY');
      db.exec('CREATE TEMP TABLE IF NOT EXISTS trac_backup_seen (rid INTEGER PRIMARY KEY, type, id, filename, size, time)');
      const clear = db.prepare('DELETE FROM temp.trac_backup_seen');
      const fill = db.prepare('INSERT INTO temp.trac_backup_seen SELECT rowid, type, id, filename, size, time FROM main.attachment');
      this.statements = {
        refresh: db.transaction(() => {
          clear.run();
          fill.run();
        }),
        seen: db.prepare('SELECT rid, type, id, filename, size, time FROM temp.trac_backup_seen'),
        changed: db.prepare(
          'SELECT a.rowid, a.type, a.id, a.filename, a.size, a.time FROM main.attachment a ' +
            'LEFT JOIN temp.trac_backup_seen s ON s.rid = a.rowid WHERE s.rid IS NULL OR s.type IS NOT a.type ' +
            'OR s.id IS NOT a.id OR s.filename IS NOT a.filename OR s.size IS NOT a.size OR s.time IS NOT a.time',
        ),
        gone: db.prepare(
          'SELECT s.rid FROM temp.trac_backup_seen s WHERE NOT EXISTS (SELECT 1 FROM main.attachment a WHERE a.rowid = s.rid)',
        ),
      };
    }
    return this.statements;
  }
}
