import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isInside, realpathAllowingMissing } from './backupDestination';
import { readEnvironment, whyNotAnEnvironment } from './environment';
import { TracBackupError, errnoCode } from './errors';
import { BackupManifest } from './manifest';
import { isSafeRelative } from './manifestCheck';

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

/** A database outside the environment that the backup holds a snapshot of, to restore to its own path. */
export interface ExternalDatabase {
  /** Absolute path it is restored to (where it was when backed up). */
  file: string;
  /** Where the snapshot is in the backup. */
  storedAt: string;
  sha256?: string;
  /**
   * The backup's trac.ini was pointed at the snapshot: put back this `[trac] database` value, and
   * the file's mode and mtime as they were in the environment, when the metadata has them.
   */
  config?: { file: string; originalUrl: string; original?: { mode: number; mtimeMs: number } };
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
    throw new TracBackupError('INVALID_ARGUMENT', `${environment} is a file, not a folder: choose another path to restore to.`, environment);
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

/** The external database a backup holds, from its metadata; undefined when it holds none. */
export function externalDatabaseOf(manifest: BackupManifest | undefined): ExternalDatabase | undefined {
  const database = manifest?.database;
  if (!database || database.kind !== 'sqlite' || !database.included || !database.external || !database.file || !database.path) {
    return undefined;
  }
  if (!path.isAbsolute(database.file) || !isSafeRelative(database.path)) {
    throw new TracBackupError(
      'MANIFEST_INVALID',
      `The backup metadata names its database as ${database.file} stored at ${database.path}: that is not a place a restore writes to.`,
    );
  }
  const sha256 = manifest?.entries.find((entry) => entry.path === database.path && entry.type === 'file');
  const rewritten = database.configRewritten;
  const config =
    rewritten && isSafeRelative(rewritten.file)
      ? { ...rewritten, original: manifest?.sourceState?.rewritten?.[rewritten.file] }
      : undefined;
  return {
    file: database.file,
    storedAt: database.path,
    sha256: sha256?.type === 'file' ? sha256.sha256 : undefined,
    config,
  };
}

/** What a restore does not bring back, for the result and the prompt. */
export function restoreWarnings(
  manifest: BackupManifest | undefined,
  databaseNote: string | undefined,
  environment: string,
  aside: string | null,
): string[] {
  const database = manifest?.database;
  if (database?.kind === 'sqlite' && !database.included && !database.external) {
    return [
      `The backup was made without its database (--no-database): ${environment} has no database now; put it back from ` +
        `its own backup${aside ? ` (the one it had is in ${aside})` : ''}.`,
    ];
  }
  if (database && database.kind !== 'sqlite') {
    return [`The database (${database.url}) is not in the backup: restoring it is not supported yet; restore it with its own tools.`];
  }
  return databaseNote ? [`${databaseNote} It was left as it is.`] : [];
}
