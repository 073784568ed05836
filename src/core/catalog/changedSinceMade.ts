import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describeError, errnoCode } from '../shared/errors';
import { EntryKind, TreeEntry, walkTree } from '../fs/fileTree';
import { BackupManifest, MANIFEST_FILE, ManifestEntry } from './manifest';
import { sqliteSideFiles } from '../sqlite/sqlite';

/**
 * Whether a folder with backup metadata is still the backup it describes, from the file system
 * alone (lstat and readlink: no file's content is read). A backup is never written after it is
 * made (its files are read-only); an environment put back by hand with `tar xzf` carries the
 * same metadata but, once Trac runs in it, gets a newer database, a -wal beside it, log files…
 * Such a folder is not a backup any more: prune and deleteBackup leave it alone, and discovery
 * lists it as an environment again.
 *
 * The full check: every entry the metadata lists is there, of the same kind, files with the same
 * size and modification time, links with the same target; nothing else is there; no SQLite side
 * file beside the database. Folders are compared by kind only: their times change when a file is
 * added and removed again (which is no change of content), and an added or removed file is
 * found on its own. Returns the first difference found, or undefined when there is none.
 */
export async function whyChangedSinceMade(backupDir: string, manifest: BackupManifest): Promise<string | undefined> {
  let onDisk: TreeEntry[];
  try {
    onDisk = await walkTree(backupDir, { exclude: (relative) => relative === MANIFEST_FILE });
  } catch (error) {
    return `it cannot be read (${errnoCode(error) ?? describeError(error)})`;
  }
  const disk = new Map(onDisk.map((entry) => [entry.relative, entry]));
  const sideFile = databaseSideFiles(manifest).find((side) => disk.has(side));
  if (sideFile) {
    return sideFileReason(sideFile);
  }
  for (const expected of manifest.entries) {
    const why = await differs(expected, disk.get(expected.path));
    if (why) {
      return why;
    }
    disk.delete(expected.path);
  }
  const [added] = disk.keys();
  return added === undefined ? undefined : `${added} was added`;
}

/**
 * The cheap version, for a search of environments that looks at many folders: VERSION,
 * conf/trac.ini and the database as the metadata records them, and no side file beside the
 * database. A Trac that ran in the folder wrote its database or left a side file.
 */
export async function whyChangedSinceMadeQuick(backupDir: string, manifest: BackupManifest): Promise<string | undefined> {
  for (const side of databaseSideFiles(manifest)) {
    if (await lstatOf(backupDir, side)) {
      return sideFileReason(side);
    }
  }
  const watched = new Set(['VERSION', 'conf/trac.ini', manifest.database.included ? manifest.database.path : undefined]);
  for (const expected of manifest.entries.filter((entry) => watched.has(entry.path))) {
    const why = await differs(expected, await lstatOf(backupDir, expected.path));
    if (why) {
      return why;
    }
  }
  return undefined;
}

/** The database's -wal, -shm and -journal (relative): SQLite makes them when it opens or writes it. */
function databaseSideFiles(manifest: BackupManifest): string[] {
  const { database } = manifest;
  if (database.kind !== 'sqlite' || !database.included || !database.path) {
    return [];
  }
  return sqliteSideFiles(database.path).filter((side) => /-(wal|shm|journal)$/.test(side));
}

function sideFileReason(side: string): string {
  return `${side} is beside the database (SQLite opened it for writing)`;
}

type Seen = Pick<TreeEntry, 'kind' | 'size' | 'mtimeMs' | 'absolute'>;

async function differs(expected: ManifestEntry, actual: Seen | undefined): Promise<string | undefined> {
  if (!actual) {
    return `${expected.path} is gone`;
  }
  if (actual.kind !== expected.type) {
    return `${expected.path} is a ${kindName(actual.kind)} now, it was a ${kindName(expected.type)}`;
  }
  if (expected.type === 'file') {
    if (actual.size !== expected.size) {
      return `${expected.path} is ${actual.size} bytes, it was ${expected.size}`;
    }
    // Setting times goes through a float of seconds, and tar keeps milliseconds: allow for that rounding.
    if (Math.abs(actual.mtimeMs - expected.mtimeMs) >= 1) {
      return `${expected.path} was written at ${new Date(actual.mtimeMs).toISOString()}, after the backup was made`;
    }
  }
  if (expected.type === 'symlink') {
    const target = await fs.readlink(actual.absolute).catch(() => undefined);
    if (target !== expected.target) {
      return `${expected.path} links elsewhere now`;
    }
  }
  return undefined;
}

async function lstatOf(root: string, relative: string): Promise<Seen | undefined> {
  const absolute = path.join(root, ...relative.split('/'));
  const stats = await fs.lstat(absolute).catch(() => undefined);
  if (!stats) {
    return undefined;
  }
  const kind: EntryKind = stats.isSymbolicLink() ? 'symlink' : stats.isDirectory() ? 'directory' : 'file';
  return { kind, size: stats.size, mtimeMs: stats.mtimeMs, absolute };
}

function kindName(kind: string): string {
  return kind === 'symlink' ? 'symbolic link' : kind === 'directory' ? 'folder' : 'file';
}
