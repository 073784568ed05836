import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { walkTree } from './fileTree';

export interface BackupDiskUsage {
  path: string;
  /** Its regular files (the metadata file included) and their bytes, shared or not. */
  files: number;
  bytes: number;
  /**
   * Bytes of its files that no other listed backup shares (by hard link): its own data, what
   * deleting it frees when nothing outside the list links to them. For one backup of a chain
   * this is its new data plus what later backups replaced.
   */
  uniqueBytes: number;
  /** Set when it could not be read (missing, no permission): then it counts for nothing. */
  problem?: string;
}

export interface DiskUsage {
  backups: BackupDiskUsage[];
  /** Bytes of the listed backups together, a file hard-linked into several counted once. */
  totalBytes: number;
  totalFiles: number;
}

/**
 * The disk the backups take, a hard-linked file counted once (by device and inode). Sizes are
 * file sizes (what `du --apparent-size` reports), not blocks allocated.
 */
export async function backupsDiskUsage(backupPaths: readonly string[], signal?: AbortSignal): Promise<DiskUsage> {
  const inodes = new Map<string, { size: number; owners: Set<number> }>();
  const backups: BackupDiskUsage[] = [];
  for (const [index, backupPath] of backupPaths.entries()) {
    const usage: BackupDiskUsage = { path: path.resolve(backupPath), files: 0, bytes: 0, uniqueBytes: 0 };
    backups.push(usage);
    try {
      // A mount point inside a backup is not something a backup makes: the root's device stands for all.
      const { dev } = await fs.stat(usage.path);
      for (const entry of await walkTree(usage.path, { signal })) {
        if (entry.kind !== 'file') {
          continue;
        }
        usage.files += 1;
        usage.bytes += entry.size;
        const key = `${dev}:${entry.ino}`;
        const inode = inodes.get(key) ?? { size: entry.size, owners: new Set<number>() };
        inode.owners.add(index);
        inodes.set(key, inode);
      }
    } catch (error) {
      if (signal?.aborted) {
        throw error;
      }
      usage.problem = (error as NodeJS.ErrnoException).code ?? String(error);
    }
  }
  let totalBytes = 0;
  for (const inode of inodes.values()) {
    totalBytes += inode.size;
    if (inode.owners.size === 1) {
      backups[[...inode.owners][0]].uniqueBytes += inode.size;
    }
  }
  return { backups, totalBytes, totalFiles: inodes.size };
}
