import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errnoCode, isCancelled, TracBackupError } from '../core';
import { settings } from './settings';

/**
 * The error a failed operation should show when tracBackup.backupFolder names a file, or a path
 * through one: the core can only say "ENOTDIR … lstat …" or "a part of that path is a file", and
 * the fix is in the setting. Any other error is returned as it is.
 */
export async function explainBackupFolderError(error: unknown, environment: string): Promise<unknown> {
  const folder = settings.backupFolder(environment);
  if (!folder || isCancelled(error)) {
    return error;
  }
  const file = await fileOnPath(folder);
  if (!file) {
    return error;
  }
  const which = file === folder ? 'which is a file, not a folder' : `but ${file} on that path is a file, not a folder`;
  return new TracBackupError(
    'DESTINATION_UNWRITABLE',
    `The tracBackup.backupFolder setting names ${folder}, ${which}: set it to a folder (or clear it to keep the backups beside each environment).`,
    folder,
    { cause: error },
  );
}

/** The path itself, or the nearest of its parents that exists, when that is not a folder. */
async function fileOnPath(folder: string): Promise<string | undefined> {
  for (let dir = folder; ; dir = path.dirname(dir)) {
    const stats = await fs.stat(dir).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
        return undefined;
      }
      throw error;
    });
    if (stats) {
      return stats.isDirectory() ? undefined : dir;
    }
    if (path.dirname(dir) === dir) {
      return undefined;
    }
  }
}
