import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { errnoCode } from '../shared/errors';
import { TreeEntry, walkTree } from '../fs/fileTree';
import { sourceLayout } from './hotcopySource';
import { BackupManifest, DatabaseFileState, ManifestEntry, readManifest } from '../catalog/manifest';

export interface ChangeCheck {
  changed: boolean;
  /** What differs, for a log: the first difference found. */
  reason?: string;
}

/**
 * A file system stamps a write with a clock that may tick only every few milliseconds: a write
 * this soon before the state was read may be followed by one that leaves the same mtime. Such a
 * state proves nothing (Git's "racily clean" index entries, same cure).
 */
const RACY_MS = 2000;

/**
 * The state of an SQLite database from the file system alone: the file's size, mtime, ctime and
 * inode, and the -wal file's size, mtime and salt (the salt changes whenever SQLite starts the
 * WAL over, which can leave its size as it was). A commit changes the file or its -wal.
 * The database file itself is never opened: closing any descriptor of a file drops every POSIX
 * lock this process holds on it, so a raw open and close would silently release the write lock
 * or the WAL read lock of an SQLite connection of this process (a backup running beside).
 * SQLite puts no lock on the -wal file, which is read. Synchronous: it runs under Trac's lock.
 */
export function readDatabaseState(file: string): DatabaseFileState {
  const readAtMs = Date.now();
  const stats = statSync(file);
  const wal = readWalState(`${file}-wal`);
  return { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino, ...(wal && { wal }), readAtMs };
}

/** The -wal file when it holds anything; an empty or missing one holds no commit. */
function readWalState(file: string): DatabaseFileState['wal'] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (stats.size === 0) {
      return undefined;
    }
    const header = Buffer.alloc(32);
    readSync(fd, header, 0, header.length, 0);
    // Checkpoint sequence number and the two salts.
    return { size: stats.size, mtimeMs: stats.mtimeMs, salt: header.subarray(12, 24).toString('hex') };
  } finally {
    closeSync(fd);
  }
}

/** True when `now` shows no change since `then`, and `then` was not read right after a write. */
export function sameDatabaseState(then: DatabaseFileState, now: DatabaseFileState): boolean {
  const newestWrite = Math.max(then.mtimeMs, then.wal?.mtimeMs ?? 0);
  return (
    then.readAtMs - newestWrite >= RACY_MS &&
    then.size === now.size &&
    then.mtimeMs === now.mtimeMs &&
    then.ctimeMs === now.ctimeMs &&
    then.ino === now.ino &&
    then.wal?.size === now.wal?.size &&
    then.wal?.mtimeMs === now.wal?.mtimeMs &&
    then.wal?.salt === now.wal?.salt
  );
}

/**
 * Whether the environment differs from what the backup at `backupPath` was made from: a file,
 * folder or link added or removed, a file whose size, mtime or mode differs from the source's
 * recorded in the backup's metadata, or a database whose state (readDatabaseState) differs from
 * the one recorded under the lock, or was written less than two seconds before it. Reads no
 * file's content and never opens the database. A backup without that record (made before it
 * existed, or by trac-admin) counts as changed.
 */
export async function environmentChangedSince(environmentPath: string, backupPath: string): Promise<ChangeCheck> {
  const manifest = await readManifest(backupPath).catch(() => undefined);
  if (!manifest) {
    return { changed: true, reason: `${backupPath} has no readable trac-backup metadata` };
  }
  const source = await sourceLayout(environmentPath);
  if (manifest.database.included && source.database.kind === 'sqlite') {
    const recorded = manifest.sourceState?.database;
    if (!recorded) {
      return { changed: true, reason: 'the backup does not record the state of the database' };
    }
    let current: DatabaseFileState | undefined;
    try {
      current = readDatabaseState(source.database.file);
    } catch {
      // missing or unreadable: the backup that follows says why
    }
    if (!current || !sameDatabaseState(recorded, current)) {
      return { changed: true, reason: `the database ${source.database.file} changed` };
    }
  }
  const current = await walkTree(source.root, { exclude: source.exclude, follow: source.follow });
  return compareFiles(current, manifest);
}

function compareFiles(current: TreeEntry[], manifest: BackupManifest): ChangeCheck {
  const recorded = new Map<string, ManifestEntry>(manifest.entries.map((entry) => [entry.path, entry]));
  if (manifest.database.included && manifest.database.path) {
    recorded.delete(manifest.database.path);
  }
  const rewritten = manifest.sourceState?.rewritten ?? {};
  for (const entry of current) {
    const before = recorded.get(entry.relative);
    recorded.delete(entry.relative);
    const changed = (what: string): ChangeCheck => ({ changed: true, reason: `${entry.relative} ${what}` });
    if (!before) {
      return changed('is new');
    }
    if (before.type !== entry.kind) {
      return changed(`was a ${before.type}, is a ${entry.kind}`);
    }
    const was = rewritten[entry.relative] ?? before;
    if (before.type === 'file' && 'size' in was && (was.size !== entry.size || was.mtimeMs !== entry.mtimeMs)) {
      return changed('was modified');
    }
    if (before.type !== 'symlink' && 'mode' in was && was.mode !== entry.mode) {
      return changed(`changed mode to ${entry.mode.toString(8)}`);
    }
    if (before.type === 'symlink' && before.mtimeMs !== entry.mtimeMs) {
      return changed('was replaced');
    }
  }
  const [gone] = recorded.keys();
  if (gone !== undefined) {
    return { changed: true, reason: `${gone} was removed` };
  }
  return { changed: false };
}
