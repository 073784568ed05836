import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathExists } from './fileTree';
import { TracBackupError, errnoCode } from './errors';
import { destinationError, makeFolders } from './fsErrors';
import { releaseWork, workPathFor } from './workFolder';

export function existingDestinationError(dest: string): TracBackupError {
  return new TracBackupError(
    'DESTINATION_EXISTS',
    `Hotcopy can't overwrite existing '${dest}': choose a destination that does not exist yet.`,
    dest,
  );
}

/**
 * Refuses a destination that exists, that lies inside the environment, or that contains it
 * (compared through real paths, so a symbolic link cannot hide either). Returns it absolute.
 */
export async function checkDestination(sourceReal: string, destination: string): Promise<string> {
  const dest = path.resolve(destination);
  const destReal = await realpathAllowingMissing(dest);
  if (isInside(destReal, sourceReal) || destReal === sourceReal) {
    throw new TracBackupError(
      'DESTINATION_INSIDE_SOURCE',
      `Can't back up ${sourceReal} into ${dest}, which is inside it: choose a destination outside the environment folder.`,
      dest,
    );
  }
  if (isInside(sourceReal, destReal)) {
    throw new TracBackupError(
      'SOURCE_INSIDE_DESTINATION',
      `Can't back up ${sourceReal} into ${dest}, which contains the environment: choose a new folder outside it.`,
      dest,
    );
  }
  if (await pathExists(dest)) {
    throw existingDestinationError(dest);
  }
  return dest;
}

/** Creates the destination's missing parents and an empty temporary sibling to build the backup in. */
export async function createTemporarySibling(dest: string): Promise<string> {
  const parent = path.dirname(dest);
  await makeFolders(parent);
  const temp = workPathFor(dest, 'backup');
  try {
    await fs.mkdir(temp, { mode: 0o700 });
  } catch (error) {
    releaseWork(temp);
    throw destinationError(error, parent);
  }
  return temp;
}

/**
 * Moves the finished backup into place. On POSIX the destination is first claimed with mkdir
 * (atomic: it fails if anything appeared there meanwhile), then replaced by the backup with
 * rename, which replaces only an empty folder. Windows cannot rename over a folder, so there the
 * check and the rename are two steps.
 */
export async function publishBackup(temp: string, dest: string): Promise<void> {
  if (process.platform === 'win32') {
    if (await pathExists(dest)) {
      throw existingDestinationError(dest);
    }
    await fs.rename(temp, dest);
    return;
  }
  try {
    await fs.mkdir(dest);
  } catch (error) {
    throw errnoCode(error) === 'EEXIST' ? existingDestinationError(dest) : destinationError(error, dest);
  }
  try {
    await fs.rename(temp, dest);
  } catch (error) {
    await fs.rmdir(dest).catch(() => undefined);
    throw ['ENOTEMPTY', 'EEXIST'].includes(errnoCode(error) ?? '') ? existingDestinationError(dest) : error;
  }
}

export function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative);
}


/** realpath of the longest existing prefix, with the missing rest appended. */
export async function realpathAllowingMissing(file: string): Promise<string> {
  const missing: string[] = [];
  let current = file;
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...missing.reverse());
    } catch (error) {
      const parent = path.dirname(current);
      if (!['ENOENT', 'ENOTDIR'].includes(errnoCode(error) ?? '') || parent === current) {
        throw error;
      }
      missing.push(path.basename(current));
      current = parent;
    }
  }
}
