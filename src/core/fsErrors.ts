import { promises as fs } from 'node:fs';
import { TracBackupError, errnoCode } from './errors';

const PERMISSION = new Set(['EACCES', 'EPERM']);
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/** Turns a failure to read a file of the environment into an error that names it. */
export function sourceError(error: unknown, file: string): unknown {
  const code = errnoCode(error);
  if (code && PERMISSION.has(code)) {
    return new TracBackupError(
      'SOURCE_UNREADABLE',
      `Can't read ${file} (permission denied): give the user running the backup read access to it, then try again.`,
      file,
      { cause: error },
    );
  }
  if (code === 'EIO') {
    return new TracBackupError(
      'SOURCE_UNREADABLE',
      `Can't read ${file} (input/output error): check the disk it is on, then try again.`,
      file,
      { cause: error },
    );
  }
  return error;
}

/** Turns a failure to write into the backup into an error naming where and what to do. */
export function destinationError(error: unknown, destination: string): unknown {
  const code = errnoCode(error);
  if (code && NO_SPACE.has(code)) {
    return new TracBackupError(
      'DISK_FULL',
      `The disk holding ${destination} is full: the partial backup was removed. ` +
        'Free some space or choose a destination on another disk, then try again.',
      destination,
      { cause: error },
    );
  }
  if (code && (PERMISSION.has(code) || code === 'EROFS')) {
    return unwritableDestination(destination, code === 'EROFS' ? 'read-only file system' : 'permission denied', error);
  }
  return error;
}

export function unwritableDestination(destination: string, reason: string, cause?: unknown): TracBackupError {
  return new TracBackupError(
    'DESTINATION_UNWRITABLE',
    `Can't write the backup to ${destination} (${reason}): choose a folder you can write to.`,
    destination,
    { cause },
  );
}

/** mkdir -p, failing with an error that names the folder and says what to do. */
export async function makeFolders(folder: string): Promise<void> {
  try {
    await fs.mkdir(folder, { recursive: true });
  } catch (error) {
    throw errnoCode(error) === 'ENOTDIR' || errnoCode(error) === 'EEXIST'
      ? unwritableDestination(folder, 'a part of that path is a file, not a folder', error)
      : destinationError(error, folder);
  }
}
