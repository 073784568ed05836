import * as path from 'node:path';
import type { ReadEntry } from 'tar';
import { expansionError, unsafeEntryError } from './archiveErrors';
import { ArchiveLimits, byteBudget } from './archiveLimits';
import { TracBackupError } from '../shared/errors';
import { formatBytes } from '../shared/format';

export type AcceptedKind = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface AcceptedEntry {
  /** '/' separated, relative to the extraction folder; '' for the folder itself. */
  relative: string;
  kind: AcceptedKind;
  mode?: number;
  mtime?: Date;
  uid?: number;
  gid?: number;
}

const KINDS: Record<string, AcceptedKind | undefined> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  GNUDumpDir: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

const REFUSED_TYPES: Record<string, string> = {
  CharacterDevice: 'is a character device',
  BlockDevice: 'is a block device',
  FIFO: 'is a FIFO (named pipe)',
};

/**
 * Judges each entry of an untrusted archive from its header, before node-tar writes anything
 * of it, against what the archive has laid down so far: no absolute or `..` path, nothing
 * written through a link or inside a file, no entry twice, symbolic links that stay inside,
 * hard links only to a file extracted before, no device or FIFO, and the limits. Once it has
 * refused one entry it refuses all that follow, so nothing more is written.
 */
export class ArchiveEntryGuard {
  readonly accepted: AcceptedEntry[] = [];
  refusal?: TracBackupError;
  private readonly kinds = new Map<string, AcceptedKind | 'parent'>([['', 'parent']]);
  private readonly budget: { bytes: number; byRatio: boolean };
  private stopped = false;
  private entries = 0;
  private declaredBytes = 0;

  constructor(
    private readonly archive: string,
    private readonly limits: ArchiveLimits,
    archiveBytes: number,
    private readonly freeBytes = Infinity,
    private readonly freeSpaceOf = '',
  ) {
    this.budget = byteBudget(limits, archiveBytes);
  }

  get entryCount(): number {
    return this.entries;
  }

  /** node-tar's `filter`: true lets the entry be extracted. */
  accept(entry: ReadEntry): boolean {
    if (this.refusal || this.stopped) {
      return false;
    }
    this.refusal = this.judge(entry);
    return this.refusal === undefined;
  }

  /** Refuses everything from now on: the extraction is being stopped. */
  stop(): void {
    this.stopped = true;
  }

  /** Entries node-tar skips without asking (unknown types, oversized headers) are refused too. */
  ignored(entry: ReadEntry): void {
    if (!this.refusal && !entry.meta && !KINDS[entry.type]) {
      this.refusal = this.unsafe(entry.path, `is a '${entry.type}' entry, which a backup never holds`);
    } else if (!this.refusal && entry.meta) {
      this.refusal = this.unsafe(entry.path, `has a header of ${formatBytes(entry.size)}, larger than tar extracts`);
    }
  }

  private judge(entry: ReadEntry): TracBackupError | undefined {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      return this.unsafe(entry.path, `is one more than the ${this.limits.maxEntries} entries an archive may hold`);
    }
    const kind = KINDS[entry.type];
    if (!kind) {
      return this.unsafe(entry.path, REFUSED_TYPES[entry.type] ?? `is a '${entry.type}' entry, which a backup never holds`);
    }
    const names = archiveNames(entry.path);
    if (names === 'absolute') {
      return this.unsafe(entry.path, 'has an absolute path');
    }
    if (names === 'up') {
      return this.unsafe(entry.path, "climbs out of the archive with '..'");
    }
    if (names.length > this.limits.maxDepth) {
      return this.unsafe(entry.path, `is ${names.length} folders deep, more than the ${this.limits.maxDepth} allowed`);
    }
    const relative = names.join('/');
    if (relative === '' && kind !== 'directory') {
      return this.unsafe(entry.path, 'would replace the extraction folder itself');
    }
    const problem = this.checkParents(names) ?? this.checkNew(relative, kind) ?? this.checkLink(entry, names, kind);
    if (problem) {
      return this.unsafe(entry.path, problem);
    }
    if (kind === 'file') {
      this.declaredBytes += entry.size;
      const tooBig = this.checkSize(entry.path);
      if (tooBig) {
        return tooBig;
      }
    }
    for (let depth = 1; depth < names.length; depth++) {
      const parent = names.slice(0, depth).join('/');
      if (!this.kinds.has(parent)) {
        this.kinds.set(parent, 'parent');
      }
    }
    this.kinds.set(relative, kind);
    this.accepted.push({ relative, kind, mode: entry.mode, mtime: entry.mtime, uid: entry.uid, gid: entry.gid });
    return undefined;
  }

  private checkParents(names: string[]): string | undefined {
    for (let depth = 1; depth < names.length; depth++) {
      const parent = names.slice(0, depth).join('/');
      const kind = this.kinds.get(parent);
      if (kind === 'symlink') {
        return `would be written through the symbolic link '${parent}'`;
      }
      if (kind === 'file' || kind === 'hardlink') {
        return `would be inside '${parent}', which is a file`;
      }
    }
    return undefined;
  }

  private checkNew(relative: string, kind: AcceptedKind): string | undefined {
    const existing = this.kinds.get(relative);
    if (existing === undefined || (existing === 'parent' && kind === 'directory')) {
      return undefined;
    }
    return 'appears twice in the archive';
  }

  private checkLink(entry: ReadEntry, names: string[], kind: AcceptedKind): string | undefined {
    const target = entry.linkpath ?? '';
    if (kind === 'symlink') {
      const resolved = target ? archiveNames(path.posix.join(...names.slice(0, -1), '.', target)) : 'up';
      if (!target || isAbsoluteName(target) || resolved === 'up' || resolved === 'absolute') {
        return `is a symbolic link to '${target}', outside the archive`;
      }
    }
    if (kind === 'hardlink') {
      const resolved = archiveNames(target);
      if (typeof resolved === 'string' || this.kinds.get(resolved.join('/')) !== 'file') {
        return `is a hard link to '${target}', which is not a file extracted before it`;
      }
    }
    return undefined;
  }

  private checkSize(entryPath: string): TracBackupError | undefined {
    if (this.declaredBytes > this.freeBytes) {
      return new TracBackupError(
        'DISK_FULL',
        `The archive ${this.archive} holds more than the ${formatBytes(this.freeBytes)} free on the disk of ` +
          `${this.freeSpaceOf} (at '${entryPath}'): free some space or extract it on another disk.`,
        this.freeSpaceOf,
      );
    }
    if (this.declaredBytes > this.budget.bytes) {
      return expansionError(
        this.archive,
        this.budget.byRatio
          ? `holds files of more than ${this.limits.maxRatio} times its size (${formatBytes(this.declaredBytes)} by '${entryPath}')`
          : `holds more than ${formatBytes(this.budget.bytes)} of files (at '${entryPath}')`,
      );
    }
    return undefined;
  }

  private unsafe(entryPath: string, problem: string): TracBackupError {
    return unsafeEntryError(this.archive, entryPath, problem);
  }
}

/**
 * The names of a path inside the archive, without `.` and empty ones (`./a//b/` → a, b);
 * 'absolute' for a path from a root or a drive, 'up' when it uses `..` at all (for a link
 * target: when it climbs above the archive's top).
 */
function archiveNames(entryPath: string): string[] | 'absolute' | 'up' {
  if (isAbsoluteName(entryPath)) {
    return 'absolute';
  }
  const names: string[] = [];
  for (const name of entryPath.split('/')) {
    if (name === '..') {
      return 'up';
    }
    if (name !== '' && name !== '.') {
      names.push(name);
    }
  }
  return names;
}

function isAbsoluteName(name: string): boolean {
  return name.startsWith('/') || name.startsWith('\\') || /^[a-zA-Z]:/.test(name);
}
