import { chmodSync, promises as fs, lchownSync, mkdirSync, utimesSync } from 'node:fs';
import * as path from 'node:path';
import { throwIfAborted } from '../shared/errors';
import { CopiedFile, FileCopyOptions, copyFileHashed, copySymlink } from './fileCopy';
import { CloneAttempts } from './cloneFile';
import { destinationError } from './fsErrors';
import { utimesSeconds } from './fileTimes';
import { EntryKind, TreeEntry } from './fileTree';
import { ManifestEntry } from '../catalog/manifest';
import { runPool, yielder } from '../shared/pool';
import { ProgressCounter } from '../shared/progress';
import { recordedMode } from './modes';
import { keepingSharedReadOnly } from './sharedReadOnly';

/** What was copied for one path: the source's identity at copy time, and the copy's checksum. */
export interface MirrorRecord {
  kind: EntryKind;
  mode: number;
  size: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** The source's owner and group, where known. */
  uid?: number;
  gid?: number;
  sha256?: string;
  linkTarget?: string;
  /** What the caller knew about the file when it was copied (hotcopy: its attachment row). */
  tag?: string;
  /** Set when the file was not copied but taken from elsewhere (a hard link to a previous backup). */
  linked?: boolean;
  /** Set when the copy is a copy-on-write clone of the source (it shares the source's blocks). */
  cloned?: boolean;
}

/** Where an unchanged file can be taken from instead of being copied (a previous backup). */
export interface FileReuse {
  /**
   * Puts a file equal to the source `entry` at `target` without copying it (a system call or two;
   * or first a read of the file to reuse, to be sure of it). Returns the content's SHA-256, or
   * undefined when the file must be copied after all.
   */
  reuse(entry: TreeEntry, target: string): { sha256: string } | undefined | Promise<{ sha256: string } | undefined>;
}

export interface ApplyOptions {
  /** Copy these again even when size, mtime, ctime and inode are unchanged. */
  force?: (relative: string) => boolean;
  /** Stored with each file copied. */
  tag?: (relative: string) => string | undefined;
  /** Sources opened beforehand (under a lock): copied from these descriptors, which are then closed. */
  sources?: Map<string, number>;
}

export interface MirrorOptions {
  /** The backup's final path, for error messages. */
  destination: string;
  progress: ProgressCounter;
  signal?: AbortSignal;
  /** Files copied at once (default COPY_CONCURRENCY): small files cost round trips, not bandwidth. */
  concurrency?: number;
  /**
   * The mode a copied file gets, from the source's (and its path): a backup drops the write bits,
   * a restore can put back the modes its metadata records. Default: the source's. Records keep
   * the source's.
   */
  storedMode?: (sourceMode: number, relative: string) => number;
  /** Tried before copying a file that is not read from a descriptor opened beforehand. */
  reuse?: FileReuse;
  /** Give every copy its source's owner and group (see canKeepOwners). */
  keepOwners?: boolean;
}

export interface SyncResult {
  /** Files copied, and their bytes (files taken through `reuse` are not counted here). */
  copied: number;
  bytes: number;
  /** Files taken through `reuse` instead. */
  reused: number;
  removed: number;
}

/**
 * Keeps a target folder equal to a source folder, pass after pass: each sync copies only what
 * changed since the previous one (size, mtime, ctime or inode differ) and removes what vanished.
 * Folder modes and times are applied at the end, since writing into a folder changes its mtime.
 */
export class TreeMirror {
  readonly records = new Map<string, MirrorRecord>();
  /** Small files and folders are handled with synchronous calls: let the event loop in regularly. */
  private readonly breathe = yielder();
  /** Clones tried into this target (one refusal from a disk is enough to stop trying from it). */
  private readonly clones = new CloneAttempts();
  /** Copies made again because their source changed while it was copied. */
  changedDuringCopy = 0;

  constructor(
    private readonly targetRoot: string,
    private readonly options: MirrorOptions,
  ) {}

  /** Brings the target in line with `entries` for the paths `inScope` accepts. */
  async sync(entries: TreeEntry[], inScope: (relative: string) => boolean = () => true, options: ApplyOptions = {}): Promise<SyncResult> {
    const present = new Set(entries.map((entry) => entry.relative));
    const absent = [...this.records.keys()].filter((relative) => inScope(relative) && !present.has(relative));
    return this.apply(entries, absent, options);
  }

  /**
   * Removes the `absent` paths from the target, then creates the folders and copies the files
   * and links of `entries` (parents before children) that are new or changed.
   */
  async apply(entries: TreeEntry[], absent: string[], options: ApplyOptions = {}): Promise<SyncResult> {
    const result: SyncResult = { copied: 0, bytes: 0, reused: 0, removed: 0 };
    for (const relative of [...absent].sort()) {
      if (this.records.has(relative)) {
        await this.remove(relative);
        result.removed += 1;
      }
    }
    const toCopy: TreeEntry[] = [];
    for (const entry of entries) {
      const record = this.records.get(entry.relative);
      if (record && record.kind !== entry.kind) {
        await this.remove(entry.relative);
      }
      if (entry.kind === 'directory') {
        if (!this.records.has(entry.relative)) {
          await this.breathe();
          try {
            mkdirSync(this.target(entry.relative), { mode: 0o700 });
            if (this.options.keepOwners) {
              lchownSync(this.target(entry.relative), entry.uid, entry.gid);
            }
          } catch (error) {
            throw destinationError(error, this.options.destination);
          }
        }
        this.records.set(entry.relative, recordOf(entry));
      } else if (needsCopy(record, entry) || options.force?.(entry.relative) || options.sources?.has(entry.relative)) {
        toCopy.push(entry);
      }
    }
    this.options.progress.expect(
      toCopy.length,
      toCopy.reduce((sum, entry) => sum + entry.size, 0),
    );
    await runPool(toCopy, this.options.concurrency ?? COPY_CONCURRENCY, async (entry) => {
      const bytes = await this.copy(entry, options.tag?.(entry.relative), options.sources);
      if (bytes === REUSED) {
        result.reused += 1;
      } else {
        result.copied += 1;
        result.bytes += bytes;
      }
    });
    return result;
  }

  /** Records a file written into the target by other means (the database snapshot). */
  addFile(relative: string, record: Omit<MirrorRecord, 'kind'>): void {
    this.records.set(relative, { kind: 'file', ...record });
  }

  /** Gives every folder its source mode and times, deepest first (a folder's own changes come last). */
  async applyFolderAttributes(): Promise<void> {
    const byDepth = new Map<number, string[]>();
    for (const [relative, record] of this.records) {
      if (record.kind === 'directory') {
        const depth = relative.split('/').length;
        const level = byDepth.get(depth) ?? [];
        level.push(relative);
        byDepth.set(depth, level);
      }
    }
    for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
      for (const relative of byDepth.get(depth)!) {
        await this.breathe();
        const record = this.records.get(relative)!;
        const target = this.target(relative);
        chmodSync(target, record.mode);
        utimesSync(target, utimesSeconds(record.atimeMs), utimesSeconds(record.mtimeMs));
      }
    }
  }

  /** Files whose copy is a copy-on-write clone of the source, and their bytes. */
  clonedFigures(): { clonedFiles: number; clonedBytes: number } {
    let clonedFiles = 0;
    let clonedBytes = 0;
    for (const record of this.records.values()) {
      if (record.kind === 'file' && record.cloned) {
        clonedFiles += 1;
        clonedBytes += record.size;
      }
    }
    return { clonedFiles, clonedBytes };
  }

  manifestEntries(): ManifestEntry[] {
    return [...this.records.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([relative, record]): ManifestEntry => {
        switch (record.kind) {
          case 'directory':
            return { path: relative, type: 'directory', mode: record.mode, mtimeMs: record.mtimeMs };
          case 'symlink':
            return { path: relative, type: 'symlink', target: record.linkTarget ?? '', mtimeMs: record.mtimeMs };
          default:
            return {
              path: relative,
              type: 'file',
              size: record.size,
              mode: record.mode,
              mtimeMs: record.mtimeMs,
              sha256: record.sha256 ?? '',
            };
        }
      });
  }

  private target(relative: string): string {
    return path.join(this.targetRoot, ...relative.split('/'));
  }

  /** Copies (or reuses) one file or link; returns the bytes copied, or REUSED. */
  private async copy(entry: TreeEntry, tag: string | undefined, sources: Map<string, number> | undefined): Promise<number> {
    await this.breathe();
    throwIfAborted(this.options.signal);
    const target = this.target(entry.relative);
    if (this.records.has(entry.relative)) {
      await this.removeTarget(entry.relative, () => fs.rm(target, { force: true }));
      this.records.delete(entry.relative);
    }
    const copyOptions = {
      destination: this.options.destination,
      keepOwner: this.options.keepOwners,
      signal: this.options.signal,
      onBytes: (bytes: number) => this.options.progress.advance(bytes, entry.relative),
    };
    if (entry.kind === 'symlink') {
      const link = await copySymlink(entry.absolute, target, copyOptions);
      if (link) {
        this.records.set(entry.relative, { ...recordOf(entry), linkTarget: link.target });
        this.options.progress.fileDone(entry.relative);
      }
      return 0;
    }
    // The descriptor leaves the map as the copy takes it over (the copy closes it): whoever closes
    // what is left in the map must not close a number the system has since given to another file.
    const fd = sources?.get(entry.relative);
    sources?.delete(entry.relative);
    // A file opened under the lock is copied from that descriptor: the path may hold another file by now.
    const reused = fd === undefined ? await this.options.reuse?.reuse(entry, target) : undefined;
    if (reused) {
      this.records.set(entry.relative, { ...recordOf(entry), sha256: reused.sha256, tag, linked: true });
      this.options.progress.advance(entry.size, entry.relative);
      this.options.progress.fileDone(entry.relative);
      return REUSED;
    }
    const copied = await this.copyFile(entry, target, {
      ...copyOptions,
      fd,
      sizeHint: entry.size,
      clones: this.clones,
      storedMode: this.options.storedMode && ((mode) => this.options.storedMode!(mode, entry.relative)),
    });
    if (!copied) {
      return 0;
    }
    const { stats } = copied;
    this.records.set(entry.relative, {
      kind: 'file',
      mode: recordedMode(stats),
      size: copied.bytes,
      atimeMs: stats.atimeMs,
      mtimeMs: stats.mtimeMs,
      ctimeMs: stats.ctimeMs,
      ino: stats.ino,
      uid: stats.uid,
      gid: stats.gid,
      sha256: copied.sha256,
      tag,
      ...(copied.cloned && { cloned: true }),
    });
    if (copied.changed || copied.recent) {
      // Still changing after the copies tried, or changed a moment ago: make the next pass copy it again.
      this.records.get(entry.relative)!.ctimeMs = -1;
    }
    this.options.progress.fileDone(entry.relative);
    return copied.bytes;
  }

  /**
   * copyFileHashed, again while the source changes during its copy (a write between the looks at
   * its identity before and after): a few tries, then the last copy, marked to be copied again.
   * A copy from a descriptor opened beforehand is never tried again (the path may hold another file).
   */
  private async copyFile(entry: TreeEntry, target: string, options: FileCopyOptions): Promise<CopiedFile | undefined> {
    for (let attempt = 1; ; attempt++) {
      const copied = await copyFileHashed(entry.absolute, target, options);
      if (!copied?.changed || options.fd !== undefined || attempt >= COPY_ATTEMPTS) {
        return copied;
      }
      await fs.rm(target, { force: true });
      this.changedDuringCopy += 1;
    }
  }

  /**
   * Removes what is at `relative` in the target: a file there may be a hard link to a previous
   * backup's, whose read-only mode a removal on Windows would clear (sharedReadOnly.ts).
   */
  private removeTarget(relative: string, remove: () => Promise<void>): Promise<void> {
    return keepingSharedReadOnly(this.targetRoot, relative, remove);
  }

  private async remove(relative: string): Promise<void> {
    await this.removeTarget(relative, () => fs.rm(this.target(relative), { recursive: true, force: true }));
    const prefix = `${relative}/`;
    for (const key of [...this.records.keys()]) {
      if (key === relative || key.startsWith(prefix)) {
        this.records.delete(key);
      }
    }
  }
}

/**
 * Files in flight at once. Each waits in turn for the thread pool (the copy) and the hash thread,
 * so with 4 the pool sat idle between them: on the 500 MB bench environment, cold, the copy took
 * 2.5 s with 4, 1.9–2.1 s with 16, no less with 32 or 64 or a larger pool, 4.4 s with 1. Copying
 * in inode order (as cp does) did not help there. The pool is the extension host's too: while a
 * backup of large files runs, other file calls there wait behind more queued copies.
 */
const COPY_CONCURRENCY = 16;

/** Copies of one file tried while its source keeps changing during the copy. */
const COPY_ATTEMPTS = 3;

/** What copy() returns for a file taken through `reuse`. */
const REUSED = -1;

function recordOf(entry: TreeEntry): MirrorRecord {
  return {
    kind: entry.kind,
    mode: entry.mode,
    size: entry.size,
    atimeMs: entry.atimeMs,
    mtimeMs: entry.mtimeMs,
    ctimeMs: entry.ctimeMs,
    ino: entry.ino,
    uid: entry.uid,
    gid: entry.gid,
  };
}

/** True when the entry is new, changed kind, or differs in size, mtime, ctime, inode or mode. */
export function needsCopy(record: MirrorRecord | undefined, entry: TreeEntry): boolean {
  return (
    !record ||
    record.kind !== entry.kind ||
    record.size !== entry.size ||
    record.mtimeMs !== entry.mtimeMs ||
    record.ctimeMs !== entry.ctimeMs ||
    record.ino !== entry.ino ||
    record.mode !== entry.mode
  );
}
