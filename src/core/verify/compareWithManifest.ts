import { isSafeRelative } from '../fs/paths';
import { promises as fs } from 'node:fs';
import { describeError, throwIfAborted } from '../shared/errors';
import { hashFile } from '../fs/fileCopy';
import { TreeEntry } from '../fs/fileTree';
import { ManifestEntry } from '../catalog/manifest';
import { runPool } from '../shared/pool';

export interface PathProblem {
  /** Relative to the backup, '/' separated. */
  path: string;
  problem: string;
}

export interface ManifestComparison {
  problems: PathProblem[];
  /** Regular files whose size and checksum were compared. */
  checkedFiles: number;
  checkedBytes: number;
}

export interface CompareOptions {
  signal?: AbortSignal;
  /** Called after each file hashed, with its size. */
  onFile?: (relative: string, bytes: number) => void;
  /** Files hashed at once. */
  concurrency?: number;
  /**
   * Files known to hold what the metadata says without reading them (a verification passed since
   * and they have not changed: see verifyBackup's trustedSince): their size is compared, not their checksum.
   */
  unchanged?: (entry: TreeEntry) => boolean;
}

/**
 * Compares what is on disk (entries from walkTree, the metadata file left out) with the metadata:
 * every entry there, of the same kind, files with the same size and SHA-256, links with the same
 * target; nothing more. An extra folder is reported once, not with everything inside it.
 */
export async function compareWithManifest(
  onDisk: TreeEntry[],
  manifest: ManifestEntry[],
  options: CompareOptions = {},
): Promise<ManifestComparison> {
  const problems: PathProblem[] = [];
  const disk = new Map(onDisk.map((entry) => [entry.relative, entry]));
  const listed = new Set<string>();
  const toHash: Array<{ entry: TreeEntry; sha256: string }> = [];
  for (const expected of manifest) {
    if (!isSafeRelative(expected.path)) {
      problems.push({ path: expected.path, problem: 'the metadata lists a path outside the backup' });
      continue;
    }
    listed.add(expected.path);
    const actual = disk.get(expected.path);
    if (!actual) {
      problems.push({ path: expected.path, problem: `missing (the metadata lists this ${kindName(expected.type)})` });
    } else if (actual.kind !== expected.type) {
      problems.push({ path: expected.path, problem: `is a ${kindName(actual.kind)}, the metadata says a ${kindName(expected.type)}` });
    } else if (expected.type === 'symlink') {
      const target = await fs.readlink(actual.absolute).catch((error: unknown) => `(unreadable: ${describeError(error)})`);
      if (target !== expected.target) {
        problems.push({ path: expected.path, problem: `links to ${target}, the metadata says ${expected.target}` });
      }
    } else if (expected.type === 'file') {
      if (actual.size !== expected.size) {
        problems.push({ path: expected.path, problem: `is ${actual.size} bytes, the metadata says ${expected.size}` });
      } else if (expected.sha256 && options.unchanged?.(actual)) {
        options.onFile?.(expected.path, actual.size);
      } else if (expected.sha256) {
        toHash.push({ entry: actual, sha256: expected.sha256 });
      }
    }
  }
  let extraFolder: string | undefined;
  for (const entry of onDisk) {
    if (extraFolder && entry.relative.startsWith(`${extraFolder}/`)) {
      continue;
    }
    if (!listed.has(entry.relative)) {
      problems.push({ path: entry.relative, problem: `is not in the metadata (added after the backup was made)` });
      extraFolder = entry.kind === 'directory' ? entry.relative : undefined;
    }
  }
  let checkedFiles = 0;
  let checkedBytes = 0;
  await runPool(toHash, options.concurrency ?? 4, async ({ entry, sha256 }) => {
    throwIfAborted(options.signal);
    let actual: string;
    try {
      actual = await hashFile(entry.absolute, options.signal);
    } catch (error) {
      if (options.signal?.aborted) {
        throw error;
      }
      problems.push({ path: entry.relative, problem: `cannot be read (${describeError(error)})` });
      return;
    }
    if (actual !== sha256) {
      problems.push({ path: entry.relative, problem: 'content differs from the metadata (SHA-256 mismatch)' });
    }
    checkedFiles += 1;
    checkedBytes += entry.size;
    options.onFile?.(entry.relative, entry.size);
  });
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { problems, checkedFiles, checkedBytes };
}

function kindName(kind: string): string {
  return kind === 'symlink' ? 'symbolic link' : kind === 'directory' ? 'folder' : 'file';
}
