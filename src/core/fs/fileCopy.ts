import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import * as fsCallback from 'node:fs';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { errnoCode, throwIfAborted } from '../shared/errors';
import { destinationError, sourceError } from './fsErrors';
import { utimesSeconds } from './fileTimes';
import { CloneAttempts } from './cloneFile';
import { HashPool, HashedFile, sharedHashPool } from './hashPool';

const CHUNK_BYTES = 1024 * 1024;
/** Up to this size a file is copied with synchronous calls (a fraction of a millisecond each). */
const SMALL_FILE_BYTES = 256 * 1024;

export interface CopyOptions {
  signal?: AbortSignal;
  /** Called after each chunk written. */
  onBytes?: (bytes: number) => void;
  /** The backup's final path, for error messages (the temporary folder means nothing to a user). */
  destination: string;
  /** Give the copy the source's owner and group (see canKeepOwners). */
  keepOwner?: boolean;
}

export interface FileCopyOptions extends CopyOptions {
  /** The size the source had when listed: small files are copied with synchronous calls. */
  sizeHint?: number;
  /** A descriptor of the source opened beforehand (under the lock): read from it, then closed. */
  fd?: number;
  /** The mode the copy gets, from the source's permission bits. Default: the source's. */
  storedMode?: (sourceMode: number) => number;
  /** What is known of clones into this destination (one per copy of a tree): a refused clone is not tried again. */
  clones?: CloneAttempts;
  /** Where copies are hashed. Default: the process's (sharedHashPool). */
  hashPool?: HashPool;
}

/**
 * The mode of a file in a backup: the source's without any write bit (0644 → 0444, 0755 → 0555).
 * Backups share unchanged files through hard links, so a file that one backup could edit would
 * change the others too. The metadata keeps the source's mode for a restore to put back.
 */
export function readOnlyMode(sourceMode: number): number {
  return sourceMode & 0o7777 & ~0o222;
}

// The source is read through a plain descriptor, so that one opened synchronously under the lock
// (no round trip through the thread pool while writers wait) can be handed over.
const readFd = promisify(fsCallback.read);
const fstatFd = promisify(fsCallback.fstat);
const closeFd = promisify(fsCallback.close);

export interface CopiedFile {
  /** The source as it was when opened: a later change shows as a different size, mtime, ctime or inode. */
  stats: Stats;
  sha256: string;
  bytes: number;
  /** True when the copy shares the source's blocks (a copy-on-write clone): it took no new disk. */
  cloned?: boolean;
  /**
   * True when the source changed while it was copied (its size, mtime, ctime or inode before and
   * after differ, or the copy's length is not the size it had): the copy may hold a mix of both.
   */
  changed?: boolean;
  /**
   * True when the source's last change (ctime) was so shortly before the copy that a write may
   * still have been under way: a write stamps the file as it begins, not as it ends, so a copy
   * made meanwhile can hold half of it with the same identity before and after. Copy it again later.
   */
  recent?: boolean;
}

/** How long after a file's last change a write to it may still be landing (a write takes far less; coarse clocks lag a tick). */
const SETTLING_MS = 1000;

/**
 * Copies one regular file and gives the copy the source's mode and times; returns the SHA-256 of
 * the copy, which is therefore exactly what the backup holds. Returns undefined when the source
 * vanished before it could be copied, or is no longer a regular file (a live environment deletes
 * files; the next walk sees what is there now).
 *
 * The data goes through the kernel (fs.copyFile: a copy-on-write clone where the file systems
 * allow, else copy_file_range or sendfile), never through this process; the copy is then hashed
 * on a thread of the hash pool, from the page cache the copy just filled. A change of the source
 * during the copy is caught by its identity (size, mtime, ctime, inode) before and after: ctime
 * moves on any write, even one whose mtime is put back, so `changed` says when to copy again.
 *
 * With a descriptor opened beforehand (under the lock: the path may hold another file by now),
 * the file is read through it and hashed as it is read, in one read.
 */
export async function copyFileHashed(source: string, target: string, options: FileCopyOptions): Promise<CopiedFile | undefined> {
  if (options.fd !== undefined) {
    return copyFromDescriptor(source, options.fd, target, options);
  }
  throwIfAborted(options.signal);
  const clones = options.clones ?? new CloneAttempts();
  const small = options.sizeHint !== undefined && options.sizeHint <= SMALL_FILE_BYTES;
  let before: Stats;
  let cloned: boolean;
  try {
    // The copy itself always goes to the thread pool: creating a file is a journalled update that
    // costs more than the copy of a small one, and the pool's threads create several at once while
    // this thread goes on. The looks at a small file's identity are synchronous (microseconds).
    before = small ? fsCallback.lstatSync(source) : await fs.lstat(source);
    if (!before.isFile()) {
      return undefined;
    }
    cloned = await clones.copy(source, target, before.dev);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && !(await pathExistsNow(source))) {
      return undefined;
    }
    throw await copyError(error, source, target, options);
  }
  const after = small ? lstatOrUndefinedSync(source) : await fs.lstat(source).catch(() => undefined);
  let hashed: HashedFile;
  try {
    hashed = await (options.hashPool ?? sharedHashPool()).hash(target);
  } catch (error) {
    throw destinationError(error, options.destination);
  }
  options.onBytes?.(hashed.bytes);
  try {
    if (small) {
      giveAttributesSync(target, before, options);
    } else {
      await giveAttributes(target, before, options);
    }
  } catch (error) {
    throw destinationError(error, options.destination);
  }
  const changed = !after || !sameFile(before, after) || hashed.bytes !== before.size;
  const recent = Date.now() - before.ctimeMs < SETTLING_MS;
  return { stats: before, sha256: hashed.sha256, bytes: hashed.bytes, cloned, ...(changed && { changed }), ...(recent && { recent }) };
}

/**
 * The owner the copy gets: the source's when owners are kept, else this process's. fs.copyFile
 * gives the copy the source's owner where it can (libuv tries), which only `keepOwner` asks for.
 */
function ownerFor(source: Stats, options: FileCopyOptions): { uid: number; gid: number } | undefined {
  if (options.keepOwner) {
    return source;
  }
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  return uid === undefined || gid === undefined || (source.uid === uid && source.gid === gid) ? undefined : { uid, gid };
}

/** Owner (before the mode: a change of owner clears set-user-ID and set-group-ID bits), mode, times. */
async function giveAttributes(target: string, source: Stats, options: FileCopyOptions): Promise<void> {
  const owner = ownerFor(source, options);
  if (owner) {
    await fs.chown(target, owner.uid, owner.gid);
  }
  await fs.chmod(target, storedModeOf(source, options));
  await fs.utimes(target, utimesSeconds(source.atimeMs), utimesSeconds(source.mtimeMs));
}

function giveAttributesSync(target: string, source: Stats, options: FileCopyOptions): void {
  const owner = ownerFor(source, options);
  if (owner) {
    fsCallback.chownSync(target, owner.uid, owner.gid);
  }
  fsCallback.chmodSync(target, storedModeOf(source, options));
  fsCallback.utimesSync(target, utimesSeconds(source.atimeMs), utimesSeconds(source.mtimeMs));
}

function lstatOrUndefinedSync(file: string): Stats | undefined {
  try {
    return fsCallback.lstatSync(file);
  } catch {
    return undefined;
  }
}

/** Same file, same content as far as the file system can tell: any write or replacement changes one of these. */
function sameFile(before: Stats, after: Stats): boolean {
  return (
    after.isFile() &&
    before.dev === after.dev &&
    before.ino === after.ino &&
    before.size === after.size &&
    before.mtimeMs === after.mtimeMs &&
    before.ctimeMs === after.ctimeMs
  );
}

async function pathExistsNow(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

/** A failed fs.copyFile names no side: the source if it cannot be read, else the destination. */
async function copyError(error: unknown, source: string, target: string, options: FileCopyOptions): Promise<unknown> {
  const readable = await fs.access(source, fsCallback.constants.R_OK).then(
    () => true,
    () => false,
  );
  return readable || (await pathExistsNow(target)) ? destinationError(error, options.destination) : sourceError(error, source);
}

/** Reads the file through `input` (closed at the end), hashing what it writes: one read of the source. */
async function copyFromDescriptor(
  source: string,
  input: number,
  target: string,
  options: FileCopyOptions,
): Promise<CopiedFile | undefined> {
  try {
    const stats = await fstatFd(input);
    const output = await fs.open(target, 'wx', 0o600).catch((error) => {
      throw destinationError(error, options.destination);
    });
    try {
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, stats.size + 1));
      let bytes = 0;
      for (;;) {
        throwIfAborted(options.signal);
        const bytesRead = await readFd(input, buffer, 0, buffer.length, null).then(
          (result) => result.bytesRead,
          (error) => {
            throw sourceError(error, source);
          },
        );
        if (bytesRead === 0) {
          break;
        }
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        await writeAll(output, chunk).catch((error) => {
          throw destinationError(error, options.destination);
        });
        bytes += bytesRead;
        options.onBytes?.(bytesRead);
      }
      if (options.keepOwner) {
        // Before the mode: a change of owner clears set-user-ID and set-group-ID bits.
        await output.chown(stats.uid, stats.gid);
      }
      await output.chmod(storedModeOf(stats, options));
      await output.utimes(utimesSeconds(stats.atimeMs), utimesSeconds(stats.mtimeMs));
      return { stats, sha256: hash.digest('hex'), bytes, cloned: false, ...(bytes !== stats.size && { changed: true }) };
    } finally {
      await output.close();
    }
  } finally {
    await closeFd(input);
  }
}

function storedModeOf(stats: Stats, options: FileCopyOptions): number {
  const mode = stats.mode & 0o7777;
  return options.storedMode ? options.storedMode(mode) : mode;
}

async function writeAll(output: fs.FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await output.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Recreates a symbolic link as a link (never following it), with the link's own times. */
export async function copySymlink(source: string, target: string, options: CopyOptions): Promise<{ target: string } | undefined> {
  let linkTarget: string;
  let stats: Stats;
  try {
    stats = await fs.lstat(source);
    linkTarget = await fs.readlink(source);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'EINVAL') {
      return undefined;
    }
    throw sourceError(error, source);
  }
  try {
    await fs.symlink(linkTarget, target);
    if (options.keepOwner) {
      await fs.lchown(target, stats.uid, stats.gid);
    }
    await fs.lutimes(target, utimesSeconds(stats.atimeMs), utimesSeconds(stats.mtimeMs));
  } catch (error) {
    throw destinationError(error, options.destination);
  }
  return { target: linkTarget };
}

/** SHA-256 of a file, read in chunks. */
export async function hashFile(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        return hash.digest('hex');
      }
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}
