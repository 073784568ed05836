import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Header } from 'tar';
import { TracBackupError, errnoCode, throwIfAborted } from '../shared/errors';
import { EntryKind, TreeEntry, entryKind } from '../fs/fileTree';
import { sourceError } from '../fs/fsErrors';
import { recordedMode } from '../fs/modes';

const BLOCK = 512;
const READ_CHUNK = 256 * 1024;
const TYPES: Record<EntryKind, 'File' | 'Directory' | 'SymbolicLink'> = {
  file: 'File',
  directory: 'Directory',
  symlink: 'SymbolicLink',
};

export interface TarWriteOptions {
  signal?: AbortSignal;
  /** The mode to record for an entry (file or folder) instead of its mode on disk; undefined keeps that. */
  modeOf?: (relative: string) => number | undefined;
  /** Bytes of file content just read, and from which file. */
  onData?: (bytes: number, relative: string) => void;
  onFileDone?: (relative: string) => void;
}

/**
 * The uncompressed tar stream of `root`: `./` for root itself, then `./<relative>` for each
 * entry, as `tar cf - -C root .` names them, with the modes on disk unless `modeOf` says otherwise. Each entry is read again as it is written, so a
 * file that changed since `entries` was listed is an error, not a torn archive. Links stay
 * links. Every file is written in full (no hard-link entries). A pax header carries what a
 * ustar header cannot: long or non-ASCII paths, sizes past 8 GiB, and the milliseconds of
 * mtimes (tar's own field holds whole seconds).
 */
export async function* tarStream(root: string, entries: readonly TreeEntry[], options: TarWriteOptions = {}): AsyncGenerator<Buffer> {
  yield* entryBlocks(root, '', options);
  for (const entry of entries) {
    throwIfAborted(options.signal);
    yield* entryBlocks(root, entry.relative, options);
  }
  yield Buffer.alloc(2 * BLOCK);
}

async function* entryBlocks(root: string, relative: string, options: TarWriteOptions): AsyncGenerator<Buffer> {
  const absolute = relative ? path.join(root, ...relative.split('/')) : root;
  let stats: Stats;
  let linkpath: string | undefined;
  try {
    // The backup folder itself may be reached through a link; what is in it never is.
    stats = relative ? await fs.lstat(absolute) : await fs.stat(absolute);
    linkpath = stats.isSymbolicLink() ? await fs.readlink(absolute) : undefined;
  } catch (error) {
    throw readError(error, absolute);
  }
  const kind = entryKind(stats);
  if (!kind) {
    return; // a socket or FIFO: never part of a backup (walkTree leaves them out too)
  }
  const name = relative ? `./${relative}${kind === 'directory' ? '/' : ''}` : './';
  const size = kind === 'file' ? stats.size : 0;
  const mtime = new Date(Math.floor(stats.mtimeMs));
  const header = new Header({
    path: name,
    type: TYPES[kind],
    mode: (kind === 'symlink' ? undefined : options.modeOf?.(relative)) ?? recordedMode(stats),
    uid: stats.uid,
    gid: stats.gid,
    size,
    mtime,
    linkpath,
  });
  const needsPax = header.encode();
  if (needsPax || (mtime.getTime() > 0 && mtime.getTime() % 1000 !== 0)) {
    yield paxHeader(name, { path: name, linkpath, size: needsPax ? String(size) : undefined, mtime: paxTime(mtime) });
  }
  yield header.block as Buffer;
  if (size > 0) {
    yield* fileContent(absolute, relative, size, options);
  }
  if (kind === 'file') {
    options.onFileDone?.(relative);
  }
}

async function* fileContent(file: string, relative: string, size: number, options: TarWriteOptions): AsyncGenerator<Buffer> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    throw readError(error, file);
  }
  try {
    for (let done = 0; done < size;) {
      throwIfAborted(options.signal);
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - done));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, done).catch((error) => {
        throw sourceError(error, file);
      });
      if (bytesRead === 0) {
        throw changedWhileArchiving(file);
      }
      done += bytesRead;
      options.onData?.(bytesRead, relative);
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    if ((await handle.stat()).size !== size) {
      throw changedWhileArchiving(file);
    }
  } finally {
    await handle.close();
  }
  const padding = (BLOCK - (size % BLOCK)) % BLOCK;
  if (padding > 0) {
    yield Buffer.alloc(padding);
  }
}

/**
 * A pax extended header: `<length> <key>=<value>\n` records, the length counting itself.
 * node-tar's own encoder writes times that readers multiplying by 1000 (node-tar among them)
 * truncate a millisecond short.
 */
function paxHeader(name: string, fields: Record<string, string | undefined>): Buffer {
  let body = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) {
      const bare = Buffer.byteLength(` ${key}=${value}\n`);
      let length = bare + String(bare).length;
      length = bare + String(length).length;
      body += `${length} ${key}=${value}\n`;
    }
  }
  const bodyBytes = Buffer.from(body, 'utf8');
  const header = new Header({
    path: `PaxHeader/${path.posix.basename(name)}`.slice(0, 99),
    type: 'ExtendedHeader',
    mode: 0o644,
    size: bodyBytes.length,
    mtime: new Date(0),
  });
  header.encode();
  return Buffer.concat([header.block as Buffer, bodyBytes, Buffer.alloc((BLOCK - (bodyBytes.length % BLOCK)) % BLOCK)]);
}

/** Seconds with the milliseconds and half of one more, so that truncating readers land on the millisecond. */
function paxTime(mtime: Date): string | undefined {
  const ms = mtime.getTime();
  if (ms <= 0) {
    return undefined;
  }
  return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}5`;
}

function readError(error: unknown, file: string): unknown {
  return errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR' ? changedWhileArchiving(file) : sourceError(error, file);
}

function changedWhileArchiving(file: string): TracBackupError {
  return new TracBackupError(
    'SOURCE_UNREADABLE',
    `${file} changed while it was being archived: archive a backup that nothing writes to, or make a new backup and archive that.`,
    file,
  );
}
