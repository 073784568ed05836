import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TracBackupError, errnoCode } from '../shared/errors';

const PERMISSION = new Set(['EACCES', 'EPERM']);
// SQLITE_FULL: SQLite's backup API writing a snapshot (the node:sqlite layer's way) onto a full disk.
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** What a failed write was writing, for the message: "the partial <what> was removed". */
export type WrittenWork = 'backup' | 'archive' | 'restore';

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

/**
 * The environment being backed up is no longer at its path (moved or deleted meanwhile), or its
 * path holds another folder now (`replaced`: a restore, a folder moved there): what was copied
 * would not be one environment, so nothing is kept.
 */
export class SourceMovedError extends TracBackupError {
  constructor(root: string, options: { replaced?: boolean; why?: string; cause?: unknown } = {}) {
    super(
      options.replaced ? 'ENVIRONMENT_REPLACED' : 'SOURCE_UNREADABLE',
      options.replaced
        ? `${root} was replaced while it was being backed up (${options.why ?? 'a restore, or a folder moved there'}): what was copied ` +
            'would mix two environments, so nothing was kept. Back it up again once it is settled.'
        : `${root} was moved or deleted while it was being backed up: nothing was backed up (the partial backup was removed). ` +
            'Back it up again from where it is now.',
      root,
      { cause: options.cause },
    );
  }
}

/** Whether `root` is still the folder it was (given its identity when the work began): 'gone', 'replaced', or undefined. */
export async function folderChange(root: string, identity: { dev: number; ino: number }): Promise<'gone' | 'replaced' | undefined> {
  const now = await fs.stat(root).catch(() => undefined);
  if (!now?.isDirectory()) {
    return 'gone';
  }
  return now.dev !== identity.dev || now.ino !== identity.ino ? 'replaced' : undefined;
}

/**
 * What a backup that failed must say when the environment is gone: that it was moved or
 * deleted, not the "ENOENT … scandir" or "stat …/db/trac.db" the copy ran into. A full or
 * unwritable destination is said as it is.
 */
export async function whenSourceGone(error: unknown, root: string): Promise<unknown> {
  const code = error instanceof TracBackupError ? error.code : undefined;
  const gone = !(await fs.stat(root).then(
    (stats) => stats.isDirectory(),
    () => false,
  ));
  if (code === 'CANCELLED' || code === 'DISK_FULL' || code === 'DESTINATION_UNWRITABLE' || !gone) {
    return error;
  }
  return error instanceof SourceMovedError ? error : new SourceMovedError(root, { cause: error });
}

/**
 * Turns a failure to write (a backup, by default; an archive, a restore's copy) into an error
 * naming where and what to do. The caller removes what it wrote, as the message says.
 */
export function destinationError(error: unknown, destination: string, what: WrittenWork = 'backup'): unknown {
  const code = errnoCode(error);
  if (code && NO_SPACE.has(code)) {
    return new TracBackupError(
      'DISK_FULL',
      `The disk holding ${destination} is full: the partial ${what} was removed. ` +
        'Free some space or choose a destination on another disk, then try again.',
      destination,
      { cause: error },
    );
  }
  if (code && (PERMISSION.has(code) || code === 'EROFS')) {
    return unwritableDestination(destination, code === 'EROFS' ? 'read-only file system' : 'permission denied', error, what);
  }
  return error;
}

export function unwritableDestination(destination: string, reason: string, cause?: unknown, what: WrittenWork = 'backup'): TracBackupError {
  return new TracBackupError(
    'DESTINATION_UNWRITABLE',
    `Can't write the ${what} to ${destination} (${reason}): choose a folder you can write to.`,
    destination,
    { cause },
  );
}

/** The folders makeFolders created on the way to `deepest`, `first` the outermost. */
export interface MadeFolders {
  deepest: string;
  first: string;
}

/**
 * mkdir -p, failing with an error that names the folder and says what to do. Returns the
 * folders it made (undefined when all were there), for removeMadeFolders to take away again
 * when the run that needed them fails.
 */
export async function makeFolders(folder: string, what: WrittenWork = 'backup'): Promise<MadeFolders | undefined> {
  try {
    const first = await fs.mkdir(folder, { recursive: true });
    return first === undefined ? undefined : { deepest: folder, first };
  } catch (error) {
    throw errnoCode(error) === 'ENOTDIR' || errnoCode(error) === 'EEXIST'
      ? unwritableDestination(folder, 'a part of that path is a file, not a folder', error, what)
      : destinationError(error, folder, what);
  }
}

/**
 * Removes the folders makeFolders made, deepest first, as long as they are empty: anything
 * another process put there meanwhile stays, and so do the folders holding it.
 */
export async function removeMadeFolders(made: MadeFolders | undefined): Promise<void> {
  if (!made) {
    return;
  }
  for (let dir = made.deepest; dir === made.first || dir.startsWith(made.first + path.sep); dir = path.dirname(dir)) {
    if (
      !(await fs.rmdir(dir).then(
        () => true,
        () => false,
      ))
    ) {
      break;
    }
  }
}
