import { BigIntStats, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../shared/errors';
import { fsPlatform } from './retry';

/**
 * Read-only files shared by hard links, across the removal of one of their names.
 *
 * Backups' files are read-only (fileCopy.ts readOnlyMode) and incremental backups hard-link the
 * unchanged ones from the backup before, at the same relative path, in the same folder. On POSIX
 * the mode belongs to the file (the inode) and unlinking a name leaves it alone. On Windows the
 * read-only attribute also belongs to the file, shared by all its links, and deleting a read-only
 * file clears it first: libuv's unlink does so where Windows cannot delete ignoring the attribute
 * (before Windows 10 1809, file systems without POSIX delete semantics; every libuv before 1.49),
 * and Node's fs.rm does so on any EPERM (chmod 0666, then unlink again). Deleting one backup there
 * made the files it shared with the others writable. So on Windows a removal first notes, for each
 * file with other links, where those links are beside the tree and their mode, and puts the
 * read-only mode back afterwards.
 */

/** A name of a file of the tree being removed that stays: another backup's link to it. */
export interface SharedLink {
  /** The other link's path (in a folder beside the tree, at the same relative path). */
  path: string;
  /** Its mode before the removal (permission bits). */
  mode: number;
}

/** True where removing a name of a file can change the mode its other links see (Windows: see above). */
export function removalClearsSharedReadOnly(platform: NodeJS.Platform = fsPlatform()): boolean {
  return platform === 'win32';
}

/**
 * The mode to give a link again after a removal: its mode before when it was read-only then and
 * is writable now (the removal cleared the shared flag); undefined when nothing is to be put back.
 */
export function readOnlyModeToPutBack(before: number, now: number): number | undefined {
  const wasReadOnly = (before & 0o222) === 0;
  const isWritable = (now & 0o222) !== 0;
  return wasReadOnly && isWritable ? before & 0o7777 : undefined;
}

/**
 * Runs `remove`, which removes `relative` ('/' separated: a file or a folder) of the tree `root`
 * (all of it when undefined), and then puts back the read-only mode of the files it shared with
 * the folders beside `root` (see findSharedLinks), even when the removal failed midway.
 */
export async function keepingSharedReadOnly(root: string, relative: string | undefined, remove: () => Promise<void>): Promise<void> {
  const shared = await findSharedLinks(root, relative);
  try {
    await remove();
  } finally {
    await putBackReadOnly(shared);
  }
}

/**
 * The other links of the files of `dir` (or of its `relative` file or folder) that have any
 * (link count above one), looked for in the folders beside `dir` at the same relative path, the
 * only place a backup links from; a name counts only when it is the same file (device and
 * inode). Empty where removals leave modes alone (removalClearsSharedReadOnly), or when nothing
 * is shared.
 */
export async function findSharedLinks(dir: string, relative?: string, platform: NodeJS.Platform = fsPlatform()): Promise<SharedLink[]> {
  if (!removalClearsSharedReadOnly(platform)) {
    return [];
  }
  const shared = await sharedFiles(dir, relative);
  if (shared.length === 0) {
    return [];
  }
  const parent = path.dirname(dir);
  const neighbours = (await fs.readdir(parent, { withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isDirectory() && path.join(parent, entry.name) !== dir)
    .map((entry) => path.join(parent, entry.name));
  const links: SharedLink[] = [];
  for (const file of shared) {
    let missing = file.otherLinks;
    for (const neighbour of neighbours) {
      if (missing === 0) {
        break;
      }
      const candidate = path.join(neighbour, ...file.relative.split('/'));
      const stats = await fs.lstat(candidate, { bigint: true }).catch(() => undefined);
      if (stats?.isFile() && stats.ino === file.ino && stats.dev === file.dev) {
        links.push({ path: candidate, mode: Number(stats.mode & 0o7777n) });
        missing--;
      }
    }
  }
  return links;
}

/** After the removal: gives each link whose read-only mode was cleared its mode back. Returns those put back. */
export async function putBackReadOnly(links: readonly SharedLink[]): Promise<string[]> {
  const putBack: string[] = [];
  for (const link of links) {
    const stats = await fs.lstat(link.path).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') {
        return undefined; // removed meanwhile (a prune deleting several backups)
      }
      throw error;
    });
    const mode = stats?.isFile() ? readOnlyModeToPutBack(link.mode, stats.mode) : undefined;
    if (mode !== undefined) {
      await fs.chmod(link.path, mode);
      putBack.push(link.path);
    }
  }
  return putBack;
}

interface SharedFile {
  relative: string;
  dev: bigint;
  ino: bigint;
  otherLinks: number;
}

async function sharedFiles(dir: string, under: string | undefined): Promise<SharedFile[]> {
  const found: SharedFile[] = [];
  const note = (relative: string, stats: BigIntStats): void => {
    if (stats.isFile() && stats.nlink > 1n) {
      found.push({ relative, dev: stats.dev, ino: stats.ino, otherLinks: Number(stats.nlink) - 1 });
    }
  };
  const visit = async (folder: string, relative: string): Promise<void> => {
    const entries = await fs.readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const child = path.join(folder, entry.name);
      const childRelative = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await visit(child, childRelative);
      } else if (entry.isFile()) {
        const stats = await fs.lstat(child, { bigint: true }).catch(() => undefined);
        if (stats) {
          note(childRelative, stats);
        }
      }
    }
  };
  if (under === undefined) {
    await visit(dir, '');
    return found;
  }
  const start = path.join(dir, ...under.split('/'));
  const stats = await fs.lstat(start, { bigint: true }).catch(() => undefined);
  if (stats?.isDirectory()) {
    await visit(start, under);
  } else if (stats) {
    note(under, stats);
  }
  return found;
}
