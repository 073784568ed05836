import { isInside, realpathAllowingMissing } from '../fs/paths';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathExists } from '../fs/fileTree';
import { TracBackupError, errnoCode } from '../shared/errors';
import { MadeFolders, destinationError, makeFolders, removeMadeFolders } from '../fs/fsErrors';
import { releaseWork, workPathFor } from '../work/workFolder';
import { renameWithRetry } from '../fs/retry';

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
  const dest = await checkDestinationPlace(sourceReal, destination);
  await refuseExistingDestination(dest);
  return dest;
}

/**
 * Refuses a destination inside the environment or inside a folder elsewhere that the backup
 * copies too (`linkedFolders`, where its db/ or files/ links lead), or one that contains the
 * environment, all compared through real paths. Returns it absolute.
 */
export async function checkDestinationPlace(sourceReal: string, destination: string, linkedFolders: string[] = []): Promise<string> {
  const dest = path.resolve(destination);
  const destReal = await realpathAllowingMissing(dest);
  for (const source of [sourceReal, ...linkedFolders]) {
    if (isInside(destReal, source) || destReal === source) {
      throw new TracBackupError(
        'DESTINATION_INSIDE_SOURCE',
        source === sourceReal
          ? `Can't back up ${sourceReal} into ${dest}, which is inside it: choose a destination outside the environment folder.`
          : `Can't back up ${sourceReal} into ${dest}, which is inside ${source}, a folder of the environment (through a link): ` +
              'choose a destination outside it.',
        dest,
      );
    }
  }
  if (isInside(sourceReal, destReal)) {
    throw new TracBackupError(
      'SOURCE_INSIDE_DESTINATION',
      `Can't back up ${sourceReal} into ${dest}, which contains the environment: choose a new folder outside it.`,
      dest,
    );
  }
  return dest;
}

export async function refuseExistingDestination(dest: string): Promise<void> {
  if (await pathExists(dest)) {
    throw existingDestinationError(dest);
  }
}

/**
 * Creates the destination's missing parents and an empty temporary sibling to build the backup
 * in; returns it with the parents made, for removeMadeFolders when the backup fails.
 */
export async function createTemporarySibling(dest: string): Promise<{ temp: string; madeParents?: MadeFolders }> {
  const parent = path.dirname(dest);
  const madeParents = await makeFolders(parent);
  const temp = workPathFor(dest, 'backup');
  try {
    await fs.mkdir(temp, { mode: 0o700 });
  } catch (error) {
    releaseWork(temp);
    await removeMadeFolders(madeParents);
    throw destinationError(error, parent);
  }
  return { temp, madeParents };
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
    await renameWithRetry(temp, dest);
    return;
  }
  try {
    await fs.mkdir(dest);
  } catch (error) {
    throw errnoCode(error) === 'EEXIST' ? existingDestinationError(dest) : destinationError(error, dest);
  }
  try {
    await renameWithRetry(temp, dest);
  } catch (error) {
    await fs.rmdir(dest).catch(() => undefined);
    throw ['ENOTEMPTY', 'EEXIST'].includes(errnoCode(error) ?? '') ? existingDestinationError(dest) : error;
  }
}

/**
 * The folder `relative` ('/' separated) of the backup being built in `temp`, made where missing
 * and checked, part by part with lstat, to be a real folder: a write through a link there would
 * land outside the backup (a copied `db` link once led the snapshot onto the live database).
 * Refuses a link or a file on the way; `sourceRoot` and `dest` are for the message.
 */
export async function realFolderInWork(temp: string, relative: string, sourceRoot: string, dest: string): Promise<string> {
  let dir = temp;
  const parts = relative.split('/').filter(Boolean);
  for (const [index, part] of parts.entries()) {
    dir = path.join(dir, part);
    let stats = await fs.lstat(dir).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') {
        throw destinationError(error, dest);
      }
      return undefined;
    });
    if (!stats) {
      await fs.mkdir(dir).catch((error: unknown) => {
        throw destinationError(error, dest);
      });
      stats = await fs.lstat(dir);
    }
    if (!stats.isDirectory()) {
      const inSource = path.join(sourceRoot, ...parts.slice(0, index + 1));
      throw new TracBackupError(
        'DESTINATION_UNWRITABLE',
        `Can't write ${relative} into the backup ${dest}: ${inSource} is ${stats.isSymbolicLink() ? 'a link' : 'a file'}, ` +
          'not a folder, and a backup never writes through a link. Make it a folder (or a link to one), then back up again.',
        inSource,
      );
    }
  }
  return dir;
}
