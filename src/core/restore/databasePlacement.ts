import * as path from 'node:path';
import { ExternalDatabase, externalDatabaseOf } from '../catalog/externalDatabase';
import { BackupManifest } from '../catalog/manifest';
import { sameRealPath } from '../fs/paths';
import { sqliteFileOf } from '../trac/databaseUrl';
import type { RestoreTarget } from './restoreTarget';

const CONFIG_FILE = 'conf/trac.ini';

/**
 * Where a restore puts a backup's external database:
 * - own-path: back to the path it was backed up from (replacing what is there, kept aside), with
 *   trac.ini's original `[trac] database`;
 * - inside: at `file`, inside the restored environment, where the backup's trac.ini points;
 *   `backedUpFrom` is not touched.
 */
export type DatabasePlacement = { where: 'own-path'; database: ExternalDatabase } | { where: 'inside'; file: string; backedUpFrom: string };

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
    const restoredFile = sqliteFileOf(restoredUrl, environment);
    if (restoredFile && (await sameRealPath(target.database, database.file)) && (await sameRealPath(restoredFile, database.file))) {
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
