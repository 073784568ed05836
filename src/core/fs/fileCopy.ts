import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import * as fsCallback from 'node:fs';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { errnoCode, throwIfAborted } from '../shared/errors';
import { destinationError, sourceError } from './fsErrors';
import { utimesSeconds } from './fileTimes';

const CHUNK_BYTES = 1024 * 1024;
/** Up to this size a file is copied with synchronous calls (a fraction of a millisecond each). */
const SMALL_FILE_BYTES = 256 * 1024;
const syncBuffer = Buffer.allocUnsafe(SMALL_FILE_BYTES + 1);

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
const openFd = promisify(fsCallback.open);
const readFd = promisify(fsCallback.read);
const fstatFd = promisify(fsCallback.fstat);
const closeFd = promisify(fsCallback.close);

export interface CopiedFile {
  /** The source as it was when opened: a later change shows as a different size, mtime, ctime or inode. */
  stats: Stats;
  sha256: string;
  bytes: number;
}

/**
 * Copies one regular file, hashing it as it goes (one read of the source), and gives the copy
 * the source's mode and times. The target must not exist. Returns undefined when the source
 * vanished before it could be opened (a live environment deletes files). An open handle keeps
 * the content it was opened on even if the file is deleted or replaced meanwhile.
 */
export async function copyFileHashed(source: string, target: string, options: FileCopyOptions): Promise<CopiedFile | undefined> {
  if (options.sizeHint !== undefined && options.sizeHint <= SMALL_FILE_BYTES) {
    return copySmallFileSync(source, target, options);
  }
  let input: number;
  try {
    input = options.fd ?? (await openFd(source, 'r'));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      return undefined;
    }
    throw sourceError(error, source);
  }
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
      return { stats, sha256: hash.digest('hex'), bytes };
    } finally {
      await output.close();
    }
  } finally {
    await closeFd(input);
  }
}

/**
 * The same for a small file, with synchronous calls: ten trips through the thread pool cost
 * more than the copy itself. Reads until the end, whatever size the file has grown to.
 */
function copySmallFileSync(source: string, target: string, options: FileCopyOptions): CopiedFile | undefined {
  throwIfAborted(options.signal);
  let input: number;
  try {
    input = options.fd ?? fsCallback.openSync(source, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      return undefined;
    }
    throw sourceError(error, source);
  }
  try {
    const stats = fsCallback.fstatSync(input);
    let output: number;
    try {
      output = fsCallback.openSync(target, 'wx', 0o600);
    } catch (error) {
      throw destinationError(error, options.destination);
    }
    try {
      const hash = createHash('sha256');
      // One buffer for every small copy: they run start to end without yielding, so never two at once.
      const buffer = syncBuffer;
      let bytes = 0;
      for (;;) {
        let bytesRead: number;
        try {
          bytesRead = fsCallback.readSync(input, buffer, 0, buffer.length, null);
        } catch (error) {
          throw sourceError(error, source);
        }
        if (bytesRead === 0) {
          break;
        }
        hash.update(buffer.subarray(0, bytesRead));
        try {
          for (let offset = 0; offset < bytesRead;) {
            offset += fsCallback.writeSync(output, buffer, offset, bytesRead - offset);
          }
        } catch (error) {
          throw destinationError(error, options.destination);
        }
        bytes += bytesRead;
        options.onBytes?.(bytesRead);
      }
      if (options.keepOwner) {
        fsCallback.fchownSync(output, stats.uid, stats.gid);
      }
      fsCallback.fchmodSync(output, storedModeOf(stats, options));
      fsCallback.futimesSync(output, utimesSeconds(stats.atimeMs), utimesSeconds(stats.mtimeMs));
      return { stats, sha256: hash.digest('hex'), bytes };
    } finally {
      fsCallback.closeSync(output);
    }
  } finally {
    fsCallback.closeSync(input);
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
