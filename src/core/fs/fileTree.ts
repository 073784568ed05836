import * as fsSync from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errnoCode, throwIfAborted } from '../shared/errors';
import { yielder } from '../shared/pool';
import { isTransientFsError, removeWithRetry } from './retry';
import { recordedMode } from './modes';
import { keepingSharedReadOnly } from './sharedReadOnly';

export type EntryKind = 'file' | 'directory' | 'symlink';

export interface TreeEntry {
  /** Path relative to the walked root, with '/' separators. */
  relative: string;
  absolute: string;
  kind: EntryKind;
  size: number;
  mtimeMs: number;
  mode: number;
  atimeMs: number;
  /** Changes with any write, chmod or rename: with ino, tells a rewritten file from an untouched one. */
  ctimeMs: number;
  ino: number;
  uid: number;
  gid: number;
}

export interface WalkOptions {
  signal?: AbortSignal;
  /** Return true to leave out an entry (and, for a folder, everything below it). */
  exclude?: (relative: string, kind: EntryKind) => boolean;
  /**
   * Return true for a symbolic link to list what it points to instead, when that is a folder: the
   * entry is then that folder (its mode, owner and times) under the link's path, with its content
   * below it. A link to anything else, or to nothing, stays a link.
   */
  follow?: (relative: string) => boolean;
}

export function entryKind(stats: fsSync.Stats): EntryKind | undefined {
  if (stats.isSymbolicLink()) {
    return 'symlink';
  }
  if (stats.isDirectory()) {
    return 'directory';
  }
  return stats.isFile() ? 'file' : undefined;
}

/**
 * lstat, except that a symbolic link `follow` accepts gives the stats of the folder it points to.
 * Throws what lstat throws; a followed link that points nowhere is a link.
 */
export function lstatFollowing(absolute: string, relative: string, follow: WalkOptions['follow']): fsSync.Stats {
  const stats = fsSync.lstatSync(absolute);
  if (!stats.isSymbolicLink() || !follow?.(relative)) {
    return stats;
  }
  try {
    const target = fsSync.statSync(absolute);
    return target.isDirectory() ? target : stats;
  } catch (error) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(errnoCode(error) ?? '')) {
      return stats;
    }
    throw error;
  }
}

export function entryFromStats(relative: string, absolute: string, kind: EntryKind, stats: fsSync.Stats): TreeEntry {
  return {
    relative,
    absolute,
    kind,
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    mode: recordedMode(stats),
    atimeMs: stats.atimeMs,
    ctimeMs: stats.ctimeMs,
    ino: stats.ino,
    uid: stats.uid,
    gid: stats.gid,
  };
}

/**
 * Lists everything below root (not root itself), parents before children, without following
 * symbolic links (but those `follow` accepts). Other kinds (sockets, FIFOs, devices) are left
 * out: they cannot be copied.
 * An entry deleted while the walk runs (a live environment) is left out, not an error.
 * Each folder is read with synchronous calls (a trip through the thread pool per lstat is
 * several times slower on trees of thousands of small folders), yielding every few ms.
 */
export async function walkTree(root: string, options: WalkOptions = {}): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const breathe = yielder();
  const visit = async (relativeDir: string): Promise<void> => {
    await breathe();
    throwIfAborted(options.signal);
    for (const entry of readFolderSync(root, relativeDir, options)) {
      entries.push(entry);
      if (entry.kind === 'directory') {
        await visit(entry.relative);
      }
    }
  };
  await visit('');
  return entries;
}

/**
 * walkTree with synchronous calls, for the few moments when a lock is held: one lstat costs
 * microseconds here against a round trip through the thread pool for the async version.
 * `under` limits the walk to one folder (relative to root); paths stay relative to root.
 */
export function walkTreeSync(root: string, under = '', options: Omit<WalkOptions, 'signal'> = {}): TreeEntry[] {
  const entries: TreeEntry[] = [];
  const visit = (relativeDir: string): void => {
    for (const entry of readFolderSync(root, relativeDir, options, true)) {
      entries.push(entry);
      if (entry.kind === 'directory') {
        visit(entry.relative);
      }
    }
  };
  if (under) {
    const stats = ignoreVanishedSync(() => lstatFollowing(path.join(root, under), under, options.follow));
    const kind = stats && entryKind(stats);
    if (!stats || !kind || options.exclude?.(under, kind)) {
      return entries;
    }
    entries.push(entryFromStats(under, path.join(root, under), kind, stats));
    if (kind !== 'directory') {
      return entries;
    }
  }
  visit(under);
  return entries;
}

/**
 * The entries of one folder of the tree, sorted, with what `exclude` leaves out and what vanished
 * meanwhile (a live environment) left out; a missing root is an error unless `rootMayVanish`.
 */
function readFolderSync(
  root: string,
  relativeDir: string,
  options: Pick<WalkOptions, 'exclude' | 'follow'>,
  rootMayVanish = false,
): TreeEntry[] {
  const absoluteDir = relativeDir ? path.join(root, relativeDir) : root;
  const readNames = () => fsSync.readdirSync(absoluteDir);
  const names = relativeDir || rootMayVanish ? ignoreVanishedSync(readNames) : readNames();
  const entries: TreeEntry[] = [];
  for (const name of (names ?? []).sort()) {
    const relative = relativeDir ? `${relativeDir}/${name}` : name;
    const absolute = path.join(absoluteDir, name);
    const stats = ignoreVanishedSync(() => lstatFollowing(absolute, relative, options.follow));
    const kind = stats && entryKind(stats);
    if (stats && kind && !options.exclude?.(relative, kind)) {
      entries.push(entryFromStats(relative, absolute, kind, stats));
    }
  }
  return entries;
}

function ignoreVanishedSync<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      return undefined;
    }
    throw error;
  }
}

/** Total bytes and count of regular files below root (0 when it does not exist). */
export async function measureTree(root: string, signal?: AbortSignal): Promise<{ files: number; bytes: number }> {
  let entries: TreeEntry[];
  try {
    entries = await walkTree(root, { signal });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { files: 0, bytes: 0 };
    }
    throw error;
  }
  const files = entries.filter((entry) => entry.kind === 'file');
  return { files: files.length, bytes: files.reduce((sum, entry) => sum + entry.size, 0) };
}

/**
 * Removes a folder and everything in it, even where a copied mode left a folder read-only
 * (which stops a non-root user from deleting its entries). Missing is fine. Files it shares with
 * backups beside it through hard links keep their read-only mode there (sharedReadOnly.ts: on
 * Windows deleting a name clears the flag all the names share).
 */
export async function removeTree(dir: string): Promise<void> {
  await keepingSharedReadOnly(dir, undefined, () => removeWholeTree(dir));
}

async function removeWholeTree(dir: string): Promise<void> {
  try {
    // One attempt: a folder left read-only is not cured by waiting (made writable below).
    await removeWithRetry(dir, { budgetMs: 0 });
    return;
  } catch (error) {
    if (!['EACCES', 'EPERM', 'ENOTEMPTY'].includes(errnoCode(error) ?? '')) {
      if (!isTransientFsError(error)) {
        throw error;
      }
      await removeWithRetry(dir); // in use for a moment (Windows)
      return;
    }
  }
  const makeWritable = async (folder: string): Promise<void> => {
    await fs.chmod(folder, 0o700).catch(() => undefined);
    const names = await fs.readdir(folder).catch(() => [] as string[]);
    for (const name of names) {
      const child = path.join(folder, name);
      const stats = await fs.lstat(child).catch(() => undefined);
      if (stats?.isDirectory()) {
        await makeWritable(child);
      }
    }
  };
  await makeWritable(dir);
  await removeWithRetry(dir);
}

/** True when something (a file, a folder, a link, even a broken one) is at the path. */
export async function pathExists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      return false;
    }
    throw error;
  }
}
