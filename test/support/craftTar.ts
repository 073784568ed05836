import { createWriteStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';

/**
 * Hand-made tar entries, for archives node-tar would refuse to create (absolute and `..`
 * paths, links out, devices): each header is written exactly as given.
 */
export interface CraftedEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  content?: string | Buffer;
  linkpath?: string;
  mode?: number;
  mtime?: Date;
  uid?: number;
}

const BLOCK = 512;
const MTIME = new Date('2024-01-02T03:04:05Z');

/** The header blocks of one entry (a pax header first when ustar cannot hold the path). */
export function headerBlocks(entry: CraftedEntry, size: number): Buffer {
  const type = entry.type ?? 'File';
  const header = new Header({
    path: entry.path,
    type,
    size,
    mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
    mtime: entry.mtime ?? MTIME,
    linkpath: entry.linkpath,
    uid: entry.uid ?? 0,
    gid: entry.uid ?? 0,
    devmaj: type === 'CharacterDevice' ? 1 : 0,
    devmin: type === 'CharacterDevice' ? 3 : 0,
  });
  if (!header.encode()) {
    return header.block as Buffer;
  }
  const pax = new Pax({ path: entry.path, linkpath: entry.linkpath, size }).encode();
  return Buffer.concat([pax, header.block as Buffer]);
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** An uncompressed tar of the entries, ended by its two zero blocks. */
export function tarBuffer(entries: CraftedEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    parts.push(headerBlocks(entry, content.length), content, padding(content.length));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export async function writeTarGz(file: string, entries: CraftedEntry[]): Promise<string> {
  await fs.writeFile(file, gzipSync(tarBuffer(entries)));
  return file;
}

/**
 * A decompression bomb, streamed (never held in memory): `zeros` bytes of zeros, either as the
 * content of one file entry after `before` (its header tells its size), or after the tar's end
 * (nothing tells). A few hundred MB compress to a few hundred KB.
 */
export async function writeZeroBomb(file: string, zeros: number, where: 'file' | 'trailing', before: CraftedEntry[] = []): Promise<string> {
  function* blocks(): Generator<Buffer> {
    const head = tarBuffer(before);
    if (where === 'file') {
      yield head.subarray(0, head.length - 2 * BLOCK);
      yield headerBlocks({ path: './db/trac.db' }, zeros);
    } else {
      yield head;
    }
    const chunk = Buffer.alloc(1024 * 1024);
    for (let left = zeros; left > 0; left -= chunk.length) {
      yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    }
    if (where === 'file') {
      yield padding(zeros);
      yield Buffer.alloc(2 * BLOCK);
    }
  }
  await pipeline(Readable.from(blocks()), createGzip(), createWriteStream(file));
  return file;
}
