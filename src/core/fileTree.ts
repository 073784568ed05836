import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { throwIfAborted } from './errors';

export type EntryKind = 'file' | 'directory' | 'symlink';

export interface TreeEntry {
  /** Path relative to the walked root, with '/' separators. */
  relative: string;
  absolute: string;
  kind: EntryKind;
  size: number;
  mtimeMs: number;
  mode: number;
}

export interface WalkOptions {
  signal?: AbortSignal;
  /** Return true to leave out an entry (and, for a folder, everything below it). */
  exclude?: (relative: string, kind: EntryKind) => boolean;
}

/**
 * Lists everything below root (not root itself), parents before children, without following
 * symbolic links. Other kinds (sockets, FIFOs, devices) are left out: they cannot be copied.
 */
export async function walkTree(root: string, options: WalkOptions = {}): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const visit = async (relativeDir: string): Promise<void> => {
    throwIfAborted(options.signal);
    const absoluteDir = relativeDir ? path.join(root, relativeDir) : root;
    const names = (await fs.readdir(absoluteDir)).sort();
    for (const name of names) {
      const relative = relativeDir ? `${relativeDir}/${name}` : name;
      const absolute = path.join(absoluteDir, name);
      const stats = await fs.lstat(absolute);
      const kind: EntryKind | undefined = stats.isSymbolicLink()
        ? 'symlink'
        : stats.isDirectory()
          ? 'directory'
          : stats.isFile()
            ? 'file'
            : undefined;
      if (!kind || options.exclude?.(relative, kind)) {
        continue;
      }
      entries.push({ relative, absolute, kind, size: stats.size, mtimeMs: stats.mtimeMs, mode: stats.mode & 0o7777 });
      if (kind === 'directory') {
        await visit(relative);
      }
    }
  };
  await visit('');
  return entries;
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
