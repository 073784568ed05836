import type { ServerDatabaseFacts } from '../serverDatabase/serverSession';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TracBackupError, errnoCode } from '../shared/errors';

/**
 * The metadata file at the root of every backup. Trac ignores it (it reads only VERSION, conf/,
 * db/, …), and a restore leaves it out of the environment it writes.
 */
export const MANIFEST_FILE = '.trac-backup.json';

/** Bumped when a reader of an older format could misread the file. */
export const MANIFEST_FORMAT = 1;

export interface ManifestFile {
  /** Relative to the backup root, '/' separated. */
  path: string;
  type: 'file';
  size: number;
  /**
   * Permission bits of the SOURCE file, as a number (0o644 → 420): what a restore puts back.
   * With `filesReadOnly` the file in the backup has these bits without the write bits.
   */
  mode: number;
  mtimeMs: number;
  sha256: string;
}

export interface ManifestDirectory {
  path: string;
  type: 'directory';
  mode: number;
  mtimeMs: number;
}

export interface ManifestSymlink {
  path: string;
  type: 'symlink';
  /** What the link points at, exactly as stored in the link. */
  target: string;
  mtimeMs: number;
}

export type ManifestEntry = ManifestFile | ManifestDirectory | ManifestSymlink;

export interface ManifestDatabase {
  kind: 'sqlite' | 'postgres' | 'mysql' | 'other';
  /** `[trac] database` of the source (for a server database: without user or password). */
  url: string;
  /** Absolute path of the source database file (SQLite only). */
  file?: string;
  /** True when the database file lies outside the environment folder. */
  external: boolean;
  /** False for a backup made with --no-database. */
  included: boolean;
  /** Where the snapshot is in the backup, relative to its root. */
  path?: string;
  /** Trac's `database_version` (45 for Trac 1.6), read from the snapshot. */
  version?: string;
  /**
   * Set when the backup's trac.ini was changed to point at `path` (an external database):
   * which file, and the `[trac] database` value it had, for a restore to put back.
   */
  configRewritten?: { file: string; originalUrl: string };
  /**
   * A PostgreSQL or MySQL/MariaDB database: the server, database, schema, dump tool and versions
   * (never the password). Its dump is the file at `path`, hashed like every file.
   */
  server?: ServerDatabaseFacts;
}

export interface BackupManifest {
  format: number;
  tool: { name: string; version: string };
  /** When the database snapshot was taken (ISO 8601, UTC). */
  createdAt: string;
  /**
   * The environment backed up: its root as given (links not resolved), its project name, the
   * machine, and (since issue 10) the identity of its root folder then, which a rename or move
   * within its file system keeps (see isBackupOf). Absent in older backups.
   */
  source: { path: string; projectName: string; host: string; identity?: FolderIdentity };
  database: ManifestDatabase;
  /** Regular files in the backup, the manifest itself excepted. */
  fileCount: number;
  bytes: number;
  /** How long Trac's writers were held off. */
  lockMs: number;
  durationMs: number;
  /**
   * True when the backup's regular files are read-only (mode without write bits), so that a file
   * hard-linked into later backups cannot be changed through any of them. Folders keep their
   * source modes. Absent in backups made before this.
   */
  filesReadOnly?: boolean;
  /**
   * The backup's seal: the clock's reading once every file of it was in place, just before this
   * metadata was written (ISO 8601), and the identity of the backup's own folder. With the
   * metadata file's ctime it tells a later incremental backup which files are unchanged since
   * their SHA-256 was taken (see previousBackup.ts). Absent in older backups.
   */
  seal?: { at: string; folder: FolderIdentity };
  /** True when unchanged files were hard-linked from the backup at `linkDest` rather than copied. */
  incremental?: boolean;
  /** The previous backup files were linked from (absolute; it may have been deleted since). */
  linkDest?: string;
  /** Files (and their bytes) shared with the previous backup through hard links. */
  linkedFiles?: number;
  linkedBytes?: number;
  /** Files (and bytes) written anew by this backup, the database included: its "new data". */
  copiedFiles?: number;
  copiedBytes?: number;
  /** Of those, the files (and bytes) that are copy-on-write clones of the environment's: no new disk until one side changes. */
  clonedFiles?: number;
  clonedBytes?: number;
  /** Why files were copied where they could have been linked (another file system, …), when so. */
  linkFallback?: string;
  /** The source as the backup saw it, beyond `entries`: tells cheaply whether it changed since. */
  sourceState?: SourceState;
  entries: ManifestEntry[];
}

/**
 * A folder as its file system knows it: device and inode, and its birth time where the platform
 * has one (an inode number can be given again to a new folder once the old one is gone; a birth
 * time tells them apart).
 */
export interface FolderIdentity {
  dev: number;
  ino: number;
  birthtimeMs?: number;
}

/** The identity of a folder from its stats (fs.stat: a link to it gives the folder's). */
export function folderIdentity(stats: { dev: number; ino: number; birthtimeMs: number }): FolderIdentity {
  return { dev: stats.dev, ino: stats.ino, ...(stats.birthtimeMs > 0 && { birthtimeMs: stats.birthtimeMs }) };
}

/** A database file's state, read without opening it (see changedSinceBackup.ts). */
export interface DatabaseFileState {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** The -wal file, when it holds frames: commits in WAL mode go there. */
  wal?: { size: number; mtimeMs: number; salt: string };
  /** When this was read (ms since the epoch): a write just before may hide a write just after. */
  readAtMs: number;
}

export interface SourceState {
  /** The source database under the lock, when the snapshot was taken. */
  database?: DatabaseFileState;
  /** Files whose copy in the backup was rewritten (trac.ini, for an external database): the source's. */
  rewritten?: Record<string, { size: number; mtimeMs: number; mode: number }>;
}

export function manifestPath(backupDir: string): string {
  return path.join(backupDir, MANIFEST_FILE);
}

/** Everything in a manifest but its entries: what listing backups needs. */
export type ManifestHead = Omit<BackupManifest, 'entries'>;

/** Where writeManifest ends the head and starts the entries, and how it ends the file. */
const ENTRIES_START = ',\n  "entries": [\n';
const ENTRIES_END = '\n  ]\n}\n';
/** The head is a few hundred bytes (more with a long path or many rewritten files): read this much of the file first. */
const HEAD_BYTES = 64 * 1024;

/**
 * Writes the manifest, one entry per line so that a diff of two backups reads well, and the head
 * (everything but the entries) first, so that readManifestHead reads a few hundred bytes.
 */
export async function writeManifest(backupDir: string, manifest: BackupManifest): Promise<string> {
  const { entries, ...head } = manifest;
  const headText = JSON.stringify(head, null, 2);
  const entryLines = entries.map((entry) => `    ${JSON.stringify(entry)}`).join(',\n');
  const text = `${headText.slice(0, -2)}${ENTRIES_START}${entryLines}${ENTRIES_END}`;
  const file = manifestPath(backupDir);
  await fs.writeFile(file, text, { mode: 0o644 });
  return file;
}

/** Reads a backup's manifest; undefined when the folder has none. Throws when it is unreadable or invalid. */
export async function readManifest(backupDir: string): Promise<BackupManifest | undefined> {
  const file = manifestPath(backupDir);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      return undefined;
    }
    throw invalid(file, `cannot be read (${errnoCode(error) ?? String(error)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `is not valid JSON (${(error as Error).message})`);
  }
  const problem = whyNotAManifest(data);
  if (problem) {
    throw invalid(file, problem);
  }
  return data as BackupManifest;
}

/**
 * A backup's manifest without its entries, from the start of the file and its last bytes (which
 * say it is whole) rather than from the whole file: a listing of thousands of backups of an
 * environment of thousands of files reads kilobytes, not gigabytes. A file not laid out as
 * writeManifest lays it out is read whole. Undefined when the folder has no manifest; throws as
 * readManifest does when the head is unreadable or invalid, or the file is cut short. It does
 * not check the entries: verify, restore and prune read them all.
 */
export async function readManifestHead(backupDir: string): Promise<ManifestHead | undefined> {
  const file = manifestPath(backupDir);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      return undefined;
    }
    throw invalid(file, `cannot be read (${errnoCode(error) ?? String(error)})`);
  }
  let headText: string | undefined;
  try {
    const { size } = await handle.stat();
    const start = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await handle.read(start, 0, start.length, 0);
    // A small file is all in `start`; a large one's last bytes are read on their own.
    let end = start.subarray(Math.max(0, size - ENTRIES_END.length));
    if (size > start.length) {
      end = Buffer.alloc(ENTRIES_END.length);
      await handle.read(end, 0, end.length, size - end.length);
    }
    const text = start.toString('utf8');
    const at = text.indexOf(ENTRIES_START);
    if (at >= 0 && end.toString('utf8') === ENTRIES_END) {
      headText = `${text.slice(0, at)}\n}`;
    }
  } catch (error) {
    throw invalid(file, `cannot be read (${errnoCode(error) ?? String(error)})`);
  } finally {
    await handle.close();
  }
  if (headText !== undefined) {
    try {
      const head: unknown = JSON.parse(headText);
      if (!whyNotAHead(head)) {
        return head as ManifestHead;
      }
    } catch {
      // not what writeManifest writes: read it whole, which says what is wrong
    }
  }
  const manifest = await readManifest(backupDir);
  if (!manifest) {
    return undefined;
  }
  const { entries: _entries, ...head } = manifest;
  return head;
}

function whyNotAManifest(data: unknown): string | undefined {
  const problem = whyNotAHead(data);
  if (problem) {
    return problem;
  }
  if (!Array.isArray((data as Partial<BackupManifest>).entries)) {
    return 'lacks entries, bytes, source or database';
  }
  return undefined;
}

function whyNotAHead(data: unknown): string | undefined {
  if (!data || typeof data !== 'object') {
    return 'is not a JSON object';
  }
  const manifest = data as Partial<BackupManifest>;
  if (typeof manifest.format !== 'number') {
    return 'has no format number';
  }
  if (manifest.format > MANIFEST_FORMAT) {
    return `has format ${manifest.format}, newer than this tool reads (${MANIFEST_FORMAT}); update Trac Backup`;
  }
  if (typeof manifest.createdAt !== 'string' || Number.isNaN(Date.parse(manifest.createdAt))) {
    return 'has no valid createdAt';
  }
  if (typeof manifest.bytes !== 'number' || !manifest.source || !manifest.database) {
    return 'lacks entries, bytes, source or database';
  }
  return undefined;
}

function invalid(file: string, reason: string): TracBackupError {
  return new TracBackupError('MANIFEST_INVALID', `The backup metadata ${file} ${reason}. The backup may be damaged; make a new one.`, file);
}
