import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { walkTree } from '../fs/fileTree';
import { FolderIdentity } from './manifest';

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

/** A backup to measure: its path, and what tells it from another backup made later under that path. */
export interface MeasuredBackup {
  path: string;
  /** When it was made (the metadata's createdAt, as listBackups gives it). */
  createdAt?: Date;
  /** The folder's device and inode, as listBackups gives them (else read here). */
  folderIdentity?: FolderIdentity;
}

/** One backup's regular files, by inode: all a total needs, kept compact (16 bytes a file). */
interface FileSet {
  key: string;
  dev: number;
  inodes: Float64Array;
  sizes: Float64Array;
  bytes: number;
}

/**
 * The disk backups take, a file hard-linked into several counted once (by device and inode),
 * with each backup's files kept once they are walked: a backup never changes once made, so a
 * refresh walks only the backups it has not seen (a new one, or one deleted and made again under
 * its name: another folder, made at another time). Sizes are file sizes (what
 * `du --apparent-size` reports), not blocks allocated.
 */
export class DiskUsageCache {
  /** How many backups were walked so far: a refresh that walks none costs no file system walk. */
  walked = 0;
  private readonly sets = new Map<string, FileSet>();
  private total: { keys: string; usage: DiskUsage } | undefined;

  /** The disk use of these backups when every one of them was walked already; undefined otherwise. Reads nothing. */
  peek(backups: readonly MeasuredBackup[]): DiskUsage | undefined {
    const sets: FileSet[] = [];
    for (const backup of backups) {
      const known = this.sets.get(path.resolve(backup.path));
      if (!known || !backup.folderIdentity || known.key !== keyOf(backup, backup.folderIdentity)) {
        return undefined;
      }
      sets.push(known);
    }
    return this.totalOf(sets);
  }

  /** The disk use of these backups, walking those not walked before. */
  async usage(backups: readonly MeasuredBackup[], signal?: AbortSignal): Promise<DiskUsage> {
    const sets: Array<FileSet | { path: string; problem: string }> = [];
    for (const backup of backups) {
      const dir = path.resolve(backup.path);
      try {
        const identity = backup.folderIdentity ?? (await fs.stat(dir));
        const key = keyOf(backup, identity);
        let set = this.sets.get(dir);
        if (set?.key !== key) {
          set = await walk(dir, key, identity.dev, signal);
          this.walked += 1;
          this.sets.set(dir, set);
        }
        sets.push(set);
      } catch (error) {
        if (signal?.aborted) {
          throw error;
        }
        this.sets.delete(dir);
        sets.push({ path: dir, problem: (error as NodeJS.ErrnoException).code ?? String(error) });
      }
    }
    const readable = sets.filter((set): set is FileSet => 'inodes' in set);
    if (readable.length === sets.length) {
      return this.totalOf(readable);
    }
    const usage = totals(readable);
    const measured = usage.backups[Symbol.iterator]();
    return {
      ...usage,
      backups: sets.map((set) =>
        'inodes' in set ? measured.next().value! : { path: set.path, files: 0, bytes: 0, uniqueBytes: 0, problem: set.problem },
      ),
    };
  }

  /** Forgets every backup but these (the ones listed now), so that deleted backups do not stay in memory. */
  keepOnly(paths: Iterable<string>): void {
    const kept = new Set([...paths].map((backupPath) => path.resolve(backupPath)));
    for (const dir of this.sets.keys()) {
      if (!kept.has(dir)) {
        this.sets.delete(dir);
      }
    }
  }

  private totalOf(sets: readonly FileSet[]): DiskUsage {
    const keys = sets.map((set) => set.key).join('\n');
    if (this.total?.keys !== keys) {
      this.total = { keys, usage: totals(sets) };
    }
    return this.total.usage;
  }
}

/**
 * The disk the backups take, a hard-linked file counted once (by device and inode), each walked
 * now. Sizes are file sizes (what `du --apparent-size` reports), not blocks allocated.
 */
export async function backupsDiskUsage(backupPaths: readonly string[], signal?: AbortSignal): Promise<DiskUsage> {
  return new DiskUsageCache().usage(
    backupPaths.map((backupPath) => ({ path: backupPath })),
    signal,
  );
}

function keyOf(backup: MeasuredBackup, identity: { dev: number; ino: number }): string {
  return `${path.resolve(backup.path)}\0${identity.dev}:${identity.ino}\0${backup.createdAt?.getTime() ?? ''}`;
}

function pathOf(set: FileSet): string {
  return set.key.slice(0, set.key.indexOf('\0'));
}

async function walk(dir: string, key: string, dev: number, signal?: AbortSignal): Promise<FileSet> {
  // A mount point inside a backup is not something a backup makes: the root's device stands for all.
  const files = (await walkTree(dir, { signal })).filter((entry) => entry.kind === 'file');
  const inodes = new Float64Array(files.length);
  const sizes = new Float64Array(files.length);
  let bytes = 0;
  files.forEach((entry, index) => {
    inodes[index] = entry.ino;
    sizes[index] = entry.size;
    bytes += entry.size;
  });
  return { key, dev, inodes, sizes, bytes };
}

/** Adds up file sets: each inode once, and to a backup's own bytes when no other set has it. */
function totals(sets: readonly FileSet[]): DiskUsage {
  // Per device: inode → the index of the only set holding it, or -1 once a second one does.
  const owners = new Map<number, Map<number, number>>();
  const backups: BackupDiskUsage[] = sets.map((set) => ({ path: pathOf(set), files: set.inodes.length, bytes: set.bytes, uniqueBytes: 0 }));
  let totalBytes = 0;
  let totalFiles = 0;
  for (const [index, set] of sets.entries()) {
    let owner = owners.get(set.dev);
    if (!owner) {
      owner = new Map();
      owners.set(set.dev, owner);
    }
    for (let file = 0; file < set.inodes.length; file++) {
      const ino = set.inodes[file];
      const before = owner.get(ino);
      if (before === undefined) {
        owner.set(ino, index);
        totalBytes += set.sizes[file];
        totalFiles += 1;
        backups[index].uniqueBytes += set.sizes[file];
      } else if (before !== index && before !== -1) {
        owner.set(ino, -1);
        backups[before].uniqueBytes -= set.sizes[file];
      }
    }
  }
  return { backups, totalBytes, totalFiles };
}
