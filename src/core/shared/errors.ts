/**
 * Errors a user can cause. Each names the path involved and says what to do,
 * so that the CLI can print it as one line and the extension can show it as is.
 */
export type TracBackupErrorCode =
  | 'NOT_AN_ENVIRONMENT'
  | 'CONFIG_UNREADABLE'
  | 'DATABASE_MISSING'
  | 'DATABASE_UNSUPPORTED'
  | 'DATABASE_UNREADABLE'
  | 'DATABASE_LOCK_FAILED'
  | 'DATABASE_CORRUPT'
  | 'SQLITE_UNAVAILABLE'
  | 'DESTINATION_EXISTS'
  | 'DESTINATION_INSIDE_SOURCE'
  | 'SOURCE_INSIDE_DESTINATION'
  | 'DESTINATION_UNWRITABLE'
  | 'DISK_FULL'
  | 'SOURCE_UNREADABLE'
  | 'MANIFEST_INVALID'
  | 'BACKUP_DAMAGED'
  | 'TARGET_EXISTS'
  | 'TRAC_RUNNING'
  | 'RESTORE_IN_PROGRESS'
  | 'ENVIRONMENT_BUSY'
  | 'ENVIRONMENT_REPLACED'
  | 'RESTORE_FAILED'
  | 'ARCHIVE_UNSAFE'
  | 'ARCHIVE_DAMAGED'
  | 'RESTIC_MISSING'
  | 'OFFSITE_NOT_INITIALISED'
  | 'OFFSITE_WRONG_PASSWORD'
  | 'OFFSITE_LOCKED'
  | 'OFFSITE_UNREACHABLE'
  | 'OFFSITE_FAILED'
  | 'CANCELLED'
  | 'INVALID_ARGUMENT'
  | 'DUMP_TOOL_MISSING'
  | 'DUMP_TOOL_TOO_OLD'
  | 'DUMP_FAILED'
  | 'SERVER_UNREACHABLE'
  | 'SERVER_LOGIN_FAILED'
  | 'SERVER_DATABASE_MISSING'
  | 'SERVER_PRIVILEGE_MISSING'
  | 'SERVER_KIND_MISMATCH'
  | 'DATABASE_IN_USE';

export class TracBackupError extends Error {
  override readonly name = 'TracBackupError';

  constructor(
    readonly code: TracBackupErrorCode,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class CancelledError extends TracBackupError {
  constructor(what = 'The operation') {
    super('CANCELLED', `${what} was cancelled; nothing was changed.`);
  }
}

export function isCancelled(error: unknown): boolean {
  return error instanceof TracBackupError && error.code === 'CANCELLED';
}

/** Throws CancelledError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) {
    throw new CancelledError(what);
  }
}

/** The message of anything thrown, for logs and one-line reports. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/** The errno code of a Node.js system error, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}
