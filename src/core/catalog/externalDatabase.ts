import * as path from 'node:path';
import { realpathAllowingMissing } from '../backup/backupDestination';
import { parseDatabaseUrl } from '../trac/databaseUrl';
import { TracBackupError, describeError } from '../shared/errors';
import { BackupManifest, MANIFEST_FILE } from './manifest';
import { PathProblem, isSafeRelative } from '../verify/compareWithManifest';
import type { RestoreTarget } from '../restore/restoreTarget';

const CONFIG_FILE = 'conf/trac.ini';

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

/**
 * Where a restore puts a backup's external database:
 * - own-path: back to the path it was backed up from (replacing what is there, kept aside), with
 *   trac.ini's original `[trac] database`;
 * - inside: at `file`, inside the restored environment, where the backup's trac.ini points;
 *   `backedUpFrom` is not touched.
 */
export type DatabasePlacement = { where: 'own-path'; database: ExternalDatabase } | { where: 'inside'; file: string; backedUpFrom: string };

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

/**
 * Decides where a restore to `environment` puts the backup's external database. The metadata is a
 * file in the backup that anyone who hands over a backup or an archive can write, so it never
 * chooses a path outside the environment by itself: the database goes back to its own path only
 * when the environment being replaced exists and its own trac.ini (this machine's, trusted) names
 * that same file (compared through real paths), and the `[trac] database` put back names it too.
 * Anywhere else (a new folder, an environment that uses another database) it stays inside.
 */
export async function placeExternalDatabase(
  manifest: BackupManifest | undefined,
  environment: string,
  target: RestoreTarget,
): Promise<DatabasePlacement | undefined> {
  const database = externalDatabaseOf(manifest);
  if (!database) {
    return undefined;
  }
  const restoredUrl = database.config?.file === CONFIG_FILE ? database.config.originalUrl : undefined;
  if (target.state === 'environment' && target.database && restoredUrl) {
    const restoredFile = fileOfUrl(restoredUrl, environment);
    if (restoredFile && (await sameFile(target.database, database.file)) && (await sameFile(restoredFile, database.file))) {
      return { where: 'own-path', database };
    }
  }
  return { where: 'inside', file: path.join(environment, ...database.storedAt.split('/')), backedUpFrom: database.file };
}

/** What a restore (or a prompt before it) says of a database it keeps inside the environment. */
export function databaseInsideNote(inside: { file: string; backedUpFrom: string }, done: boolean): string {
  return (
    `The database ${done ? 'was restored' : 'goes'} inside the environment, to ${inside.file} (its trac.ini names it there); ` +
    `${inside.backedUpFrom}, where it was backed up from, ${done ? 'was' : 'is'} not touched: a restore writes a database back ` +
    'to a path outside the environment only over an environment whose own trac.ini names that file.'
  );
}

/**
 * Checks that the metadata agrees with itself and with the backup about an external database
 * (the backup's trac.ini names the snapshot; the `[trac] database` it had names the file the
 * metadata says it was backed up from), and says what a restore will do with it.
 */
export function checkExternalDatabase(
  manifest: BackupManifest | undefined,
  backup: string,
  backupDatabaseUrl: string | undefined,
): { problems: PathProblem[]; note?: string } {
  let database: ExternalDatabase | undefined;
  try {
    database = externalDatabaseOf(manifest);
  } catch (error) {
    return { problems: [{ path: MANIFEST_FILE, problem: describeError(error) }] };
  }
  if (!database || !manifest) {
    return { problems: [] };
  }
  const problems: PathProblem[] = [];
  const snapshot = path.join(backup, ...database.storedAt.split('/'));
  if (backupDatabaseUrl !== undefined && fileOfUrl(backupDatabaseUrl, backup) !== snapshot) {
    problems.push({
      path: 'conf/trac.ini',
      problem: `names the database ${backupDatabaseUrl}, but the metadata says the backup holds it as ${database.storedAt}`,
    });
  }
  const originalUrl = database.config?.originalUrl;
  if (database.config && database.config.file !== CONFIG_FILE) {
    problems.push({ path: MANIFEST_FILE, problem: `says the backup's ${database.config.file} was rewritten, not its ${CONFIG_FILE}` });
  }
  if (!originalUrl || fileOfUrl(originalUrl, manifest.source.path) !== path.resolve(database.file)) {
    problems.push({
      path: MANIFEST_FILE,
      problem:
        `says the database was backed up from ${database.file}, but the [trac] database it records ` +
        `(${originalUrl ?? 'none'}) does not name that file: the metadata was changed after the backup was made`,
    });
  }
  return {
    problems,
    note:
      `The database was backed up from ${database.file}, outside the environment; the backup holds it as ${database.storedAt}. ` +
      'A restore writes it back there only over an environment whose trac.ini names that file; anywhere else it stays ' +
      `inside the restored environment (${database.storedAt}).`,
  };
}

/** The SQLite file a `[trac] database` value names, relative to `environment`; undefined when it names none. */
function fileOfUrl(url: string, environment: string): string | undefined {
  try {
    const location = parseDatabaseUrl(url, environment);
    return location.kind === 'sqlite' ? location.file : undefined;
  } catch {
    return undefined;
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const real = (file: string) => realpathAllowingMissing(file).catch(() => path.resolve(file));
  const [realA, realB] = await Promise.all([real(a), real(b)]);
  return realA === realB;
}
