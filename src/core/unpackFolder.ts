import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { removeTree } from './fileTree';
import { workOwnerRunning } from './workOwner';

const UNPACK_NAME = /^\..+\.unpack-(\d+)-[0-9a-f]{8}$/;

/** Unpack folders this process is working in now. */
const inUseHere = new Set<string>();

/** True for the name of a folder an archive is unpacked into: never an environment to list. */
export function isUnpackFolderName(name: string): boolean {
  return UNPACK_NAME.test(name);
}

/**
 * A new folder in `parent` to unpack the archive `name` into, private to this user. Its name
 * carries this process's id, so that one left by a process that was killed can be told from one
 * in use. Call release() when done with it (after removing it).
 */
export async function makeUnpackFolder(parent: string, name: string): Promise<{ folder: string; release: () => void }> {
  const folder = path.join(parent, `.${name}.unpack-${process.pid}-${randomBytes(4).toString('hex')}`);
  inUseHere.add(folder);
  try {
    await fs.mkdir(folder, { mode: 0o700 });
  } catch (error) {
    inUseHere.delete(folder);
    throw error;
  }
  return { folder, release: () => inUseHere.delete(folder) };
}

/**
 * Removes the unpack folders in `parent` whose process is gone (killed while unpacking, before
 * it could clean up), and returns their paths. Folders of running processes are left alone.
 */
export async function sweepUnpackFolders(parent: string): Promise<string[]> {
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const swept: string[] = [];
  for (const name of names) {
    const owner = UNPACK_NAME.exec(name)?.[1];
    const folder = path.join(parent, name);
    if (owner === undefined) {
      continue;
    }
    const stats = await fs.lstat(folder).catch(() => undefined);
    if (!stats?.isDirectory() || workOwnerRunning(Number(owner), stats.birthtimeMs || stats.ctimeMs, inUseHere.has(folder))) {
      continue;
    }
    await removeTree(folder);
    swept.push(folder);
  }
  return swept;
}
