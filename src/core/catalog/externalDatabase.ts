import * as path from 'node:path';
import { isSafeRelative } from '../fs/paths';
import { TracBackupError } from '../shared/errors';
import { BackupManifest } from './manifest';

/**
 * A database outside the environment (an absolute `sqlite:` path) that a backup holds a snapshot
 * of. The backup's trac.ini points at the snapshot (`storedAt`), so the backup is an environment
 * of its own; the metadata records where the database was and the `[trac] database` it had.
 */
export interface ExternalDatabase {
  /** Absolute path it was backed up from, as the metadata says. */
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
