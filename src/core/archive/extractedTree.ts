import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AcceptedEntry } from './entryGuard';
import { unsafeEntryError } from './archiveErrors';
import { errnoCode } from '../shared/errors';

const MAX_LINK_HOPS = 40;
/** Set-user-ID and set-group-ID are dropped: an archive must not plant such programs. */
const MODE_MASK = 0o1777;
/** For an archive without an entry for its top folder (a tar made without `.`). */
const DEFAULT_ROOT_MODE = 0o755;

/**
 * Refuses a symbolic link that, once every entry is in place, leads out of `root` on disk:
 * each link met on the way is followed as the system would, so `a/b -> ..` with
 * `c -> a/b/../x` is caught although each target alone stays inside. With `within` (the folder
 * of the archive that becomes the environment, '/' separated), only the links in that folder
 * are looked at, and they must stay inside it: `root` is that folder.
 */
export async function checkLinksStayInside(root: string, accepted: readonly AcceptedEntry[], archive: string, within = ''): Promise<void> {
  const prefix = within ? `${within}/` : '';
  const links = accepted
    .filter((entry) => entry.kind === 'symlink' && entry.relative.startsWith(prefix))
    .map((entry) => entry.relative.slice(prefix.length));
  const leaving = await findLinkLeaving(root, links);
  if (leaving) {
    const outside = within ? `the environment in it ('${within}/')` : 'the archive';
    throw unsafeEntryError(archive, prefix + leaving.relative, `is a symbolic link to '${leaving.target}', which leads outside ${outside}`);
  }
}

/**
 * The first of `links` (relative to `root`, '/' separated) that leads out of `root` on disk,
 * following every link met on the way, with its target as stored; undefined when none does.
 */
export async function findLinkLeaving(root: string, links: readonly string[]): Promise<{ relative: string; target: string } | undefined> {
  for (const relative of links) {
    const names = relative.split('/');
    const target = await fs.readlink(path.join(root, ...names));
    if (isAbsoluteTarget(target) || (await leavesRoot(root, names.slice(0, -1), target))) {
      return { relative, target };
    }
  }
  return undefined;
}

async function leavesRoot(root: string, from: string[], target: string): Promise<boolean> {
  const at = [...from];
  const todo = target.split('/');
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.shift() as string;
    if (name === '' || name === '.') {
      continue;
    }
    if (name === '..') {
      if (at.length === 0) {
        return true;
      }
      at.pop();
      continue;
    }
    at.push(name);
    const stats = await fs.lstat(path.join(root, ...at)).catch(() => undefined);
    if (stats?.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) {
        return false; // a loop: resolves nowhere, so it leads nowhere outside either
      }
      const next = await fs.readlink(path.join(root, ...at));
      if (isAbsoluteTarget(next)) {
        return true;
      }
      at.pop();
      todo.unshift(...next.split('/'));
    }
  }
  return false;
}

function isAbsoluteTarget(target: string): boolean {
  return path.posix.isAbsolute(target) || path.win32.isAbsolute(target);
}

/**
 * Gives what was extracted the modes and times of its entries, which node-tar does not quite:
 * it adds owner rights to folders' modes, lets the umask narrow files' modes, sets a folder's
 * time before writing into it (which changes it again), never sets a link's time, and sets
 * times on their exact millisecond (see seconds()). Folders
 * go last, deepest first, so that nothing changes their times afterwards.
 */
export async function applyEntryMetadata(
  root: string,
  accepted: readonly AcceptedEntry[],
  { keepOwners = false }: { keepOwners?: boolean } = {},
): Promise<void> {
  const folders: AcceptedEntry[] = [];
  let rootHasEntry = false;
  // Before the modes: a change of owner clears set-group-ID bits.
  const giveOwner = async (file: string, entry: AcceptedEntry) => {
    if (keepOwners && entry.uid !== undefined && entry.gid !== undefined) {
      await fs.lchown(file, entry.uid, entry.gid);
    }
  };
  for (const entry of accepted) {
    const file = path.join(root, ...entry.relative.split('/'));
    if (entry.kind === 'directory') {
      folders.push(entry);
      rootHasEntry ||= entry.relative === '';
    } else if (entry.kind === 'file') {
      await giveOwner(file, entry);
      if (entry.mode !== undefined) {
        await fs.chmod(file, entry.mode & MODE_MASK);
      }
      if (entry.mtime) {
        await fs.utimes(file, seconds(entry.mtime), seconds(entry.mtime));
      }
    } else if (entry.kind === 'symlink') {
      await giveOwner(file, entry);
      if (entry.mtime) {
        await fs.lutimes(file, seconds(entry.mtime), seconds(entry.mtime)).catch(ignoreUnsupported);
      }
    }
  }
  folders.sort((a, b) => depth(b) - depth(a));
  for (const folder of folders) {
    const dir = path.join(root, ...folder.relative.split('/'));
    await giveOwner(dir, folder);
    if (folder.mtime) {
      await fs.utimes(dir, seconds(folder.mtime), seconds(folder.mtime));
    }
    if (folder.mode !== undefined) {
      await fs.chmod(dir, folder.mode & MODE_MASK);
    }
  }
  if (!rootHasEntry) {
    await fs.chmod(root, DEFAULT_ROOT_MODE);
  }
}

/**
 * The middle of the time's millisecond: a time set on its exact millisecond can come back a
 * nanosecond short of it (seconds pass through a double), which reads as the millisecond before.
 */
function seconds(time: Date): number {
  return (time.getTime() + 0.5) / 1000;
}

function depth(entry: AcceptedEntry): number {
  return entry.relative === '' ? 0 : entry.relative.split('/').length;
}

function ignoreUnsupported(error: unknown): void {
  if (!['ENOSYS', 'ENOTSUP', 'EOPNOTSUPP'].includes(errnoCode(error) ?? '')) {
    throw error;
  }
}
