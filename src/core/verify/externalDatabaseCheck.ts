import * as path from 'node:path';
import { ExternalDatabase, externalDatabaseOf } from '../catalog/externalDatabase';
import { BackupManifest, MANIFEST_FILE } from '../catalog/manifest';
import { describeError } from '../shared/errors';
import { sqliteFileOf } from '../trac/databaseUrl';
import { PathProblem } from './compareWithManifest';

const CONFIG_FILE = 'conf/trac.ini';

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
  if (backupDatabaseUrl !== undefined && sqliteFileOf(backupDatabaseUrl, backup) !== snapshot) {
    problems.push({
      path: 'conf/trac.ini',
      problem: `names the database ${backupDatabaseUrl}, but the metadata says the backup holds it as ${database.storedAt}`,
    });
  }
  const originalUrl = database.config?.originalUrl;
  if (database.config && database.config.file !== CONFIG_FILE) {
    problems.push({ path: MANIFEST_FILE, problem: `says the backup's ${database.config.file} was rewritten, not its ${CONFIG_FILE}` });
  }
  if (!originalUrl || sqliteFileOf(originalUrl, manifest.source.path) !== path.resolve(database.file)) {
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
