import { CancelledError, TracBackupError, errnoCode } from '../shared/errors';
import { destinationError } from '../fs/fsErrors';

/** An entry refused for what it is or where it goes. */
export function unsafeEntryError(archive: string, entryPath: string, problem: string): TracBackupError {
  return new TracBackupError(
    'ARCHIVE_UNSAFE',
    `The archive ${archive} was refused: its entry '${entryPath}' ${problem}. Nothing from it was kept. ` +
      'Archives are checked because anyone can make one; if you trust this one, extract it yourself with tar and use the folder.',
    archive,
  );
}

/** An archive refused for how much it expands. */
export function expansionError(archive: string, what: string): TracBackupError {
  return new TracBackupError(
    'ARCHIVE_UNSAFE',
    `The archive ${archive} ${what}: it looks like a decompression bomb and was not extracted. ` +
      'If it is a genuine backup, extract it yourself with tar and use the folder.',
    archive,
  );
}

const ZLIB_ERROR = /^Z_|^ERR_ZLIB/;

/** What went wrong, as one TracBackupError that names the archive (or the disk) and what to do. */
export function extractionError(error: unknown, archive: string, dir: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) {
    return new CancelledError('Extracting the archive');
  }
  if (error instanceof TracBackupError) {
    return error;
  }
  const code = errnoCode(error) ?? '';
  const details = error as { path?: string; entry?: { path?: string }; name?: string; tarCode?: string; message?: string };
  if (details.path === archive) {
    return unreadableArchive(archive, `it cannot be read (${code})`, error);
  }
  if (ZLIB_ERROR.test(code)) {
    return damagedArchive(archive, `it is not a complete gzip file (${details.message})`, error);
  }
  const entry = details.entry?.path;
  if (details.name === 'SymlinkError' || /escape|'\.\.'|absolute/i.test(details.message ?? '')) {
    return unsafeEntryError(archive, entry ?? '?', `was refused by tar (${details.message})`);
  }
  if (details.tarCode && !['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS'].includes(code)) {
    return damagedArchive(archive, `${details.message?.replace(/^TAR_\w+: /, '')}${entry ? ` (at '${entry}')` : ''}`, error);
  }
  return destinationError(error, dir);
}

function damagedArchive(archive: string, reason: string, cause?: unknown): TracBackupError {
  return new TracBackupError(
    'ARCHIVE_DAMAGED',
    `The archive ${archive} cannot be extracted: ${reason}. It may be damaged or not a .tar.gz; make it again from the backup.`,
    archive,
    { cause },
  );
}

export function unreadableArchive(archive: string, reason: string, cause?: unknown): TracBackupError {
  return new TracBackupError(
    'ARCHIVE_DAMAGED',
    `Can't read the archive ${archive}: ${reason}. Check the path and its permissions.`,
    archive,
    {
      cause,
    },
  );
}
