import { promises as fs } from 'node:fs';
import { isInside, realpathAllowingMissing } from '../fs/paths';
import { readEnvironment, whyNotAnEnvironment } from '../trac/environment';
import { TracBackupError, errnoCode } from '../shared/errors';
import { BackupManifest } from '../catalog/manifest';

/** What is at the path a restore writes to. */
export interface RestoreTarget {
  /** Absolute. */
  path: string;
  /** missing or empty: nothing to replace; environment: a Trac environment; other: a folder with files that is not one. */
  state: 'missing' | 'empty' | 'environment' | 'other';
  /** For 'other': why it is not a Trac environment. */
  notEnvironment?: string;
  /** The SQLite database its trac.ini names, when it has one. */
  database?: string;
}

/**
 * Looks at the path a restore will write to. Refuses a file and a symbolic link (the restore
 * would replace the link, not the environment it points to).
 */
export async function inspectTarget(environment: string): Promise<RestoreTarget> {
  let stats;
  try {
    stats = await fs.lstat(environment);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      return { path: environment, state: 'missing' };
    }
    throw error;
  }
  if (stats.isSymbolicLink()) {
    const real = await fs.realpath(environment).catch(() => 'a missing target');
    throw new TracBackupError(
      'INVALID_ARGUMENT',
      `${environment} is a symbolic link (to ${real}): restore into the folder it points to instead.`,
      environment,
    );
  }
  if (!stats.isDirectory()) {
    throw new TracBackupError(
      'INVALID_ARGUMENT',
      `${environment} is a file, not a folder: choose another path to restore to.`,
      environment,
    );
  }
  if ((await fs.readdir(environment)).length === 0) {
    return { path: environment, state: 'empty' };
  }
  const notEnvironment = await whyNotAnEnvironment(environment);
  const found = await readEnvironment(environment);
  const database = found.database?.kind === 'sqlite' ? found.database.file : undefined;
  return notEnvironment
    ? { path: environment, state: 'other', notEnvironment, database }
    : { path: environment, state: 'environment', database };
}

/** Refuses a backup path that is not a folder at all (a damaged backup is verify's to report). */
export async function requireBackupFolder(backup: string): Promise<void> {
  const stats = await fs.stat(backup).catch((error: unknown) => errnoCode(error) ?? 'unreadable');
  if (typeof stats === 'string' || !stats.isDirectory()) {
    const why = stats === 'ENOENT' ? 'does not exist' : typeof stats === 'string' ? `cannot be read (${stats})` : 'is not a folder';
    throw new TracBackupError('INVALID_ARGUMENT', `Can't restore ${backup}: it ${why}. Choose a backup folder.`, backup);
  }
}

/** Refuses a restore of a backup into itself, into a folder inside it, or over a folder that holds it. */
export async function checkRestorePaths(backup: string, environment: string): Promise<void> {
  const [backupReal, environmentReal] = await Promise.all([realpathAllowingMissing(backup), realpathAllowingMissing(environment)]);
  if (backupReal === environmentReal || isInside(environmentReal, backupReal) || isInside(backupReal, environmentReal)) {
    throw new TracBackupError(
      'INVALID_ARGUMENT',
      `Can't restore ${backup} into ${environment}: one holds the other. Choose an environment path outside the backup.`,
      environment,
    );
  }
}

/**
 * What a restore does not bring back: for the prompt before it (`when: 'before'`), so that it is
 * said before anything happens, and for the result.
 */
export function restoreWarnings(
  manifest: BackupManifest | undefined,
  databaseNote: string | undefined,
  environment: string,
  aside: string | null,
  when: 'before' | 'after' = 'after',
): string[] {
  const before = when === 'before';
  const database = manifest?.database;
  if (database?.kind === 'sqlite' && !database.included && !database.external) {
    return [
      `The backup was made without its database (--no-database): ${environment} ` +
        `${before ? 'will have no database after the restore' : 'has no database now'}; put it back from its own backup` +
        (aside ? ` (the one it ${before ? 'has now will be kept' : 'had is'} in ${aside})` : '') +
        '.',
    ];
  }
  if (database && database.kind !== 'sqlite') {
    return [`The database (${database.url}) is not in the backup: restoring it is not supported yet; restore it with its own tools.`];
  }
  return databaseNote ? [`${databaseNote} It ${before ? 'will be' : 'was'} left as it is.`] : [];
}
