import * as path from 'node:path';
import { TracBackupError } from '../shared/errors';
import { makeFolders, removeMadeFolders } from '../fs/fsErrors';
import { RestoreOptions, RestoreResult, restoreFrom } from '../restore/restore';
import type { SweptWork } from '../work/workFolder';
import { OffsiteRepository, shownLocation } from '../offsite/resticRepository';
import { OffsiteSnapshot, findOffsiteSnapshot } from '../offsite/offsiteSnapshots';
import { withFetchedSnapshot } from '../offsite/fetchSnapshot';

export interface RestoreFromOffsiteOptions extends RestoreOptions {
  /** Called once the snapshot is chosen, before restic brings it back (it reports no progress of its own). */
  onFetching?: (snapshot: OffsiteSnapshot) => void;
  /** Called for each fetch a killed process had left beside the environment, removed first. */
  onSwept?: (swept: SweptWork) => void;
}

export interface RestoreFromOffsiteResult extends RestoreResult {
  /** The snapshot restored, and the repository it came from (no credentials). */
  snapshot: OffsiteSnapshot;
  repository: string;
}

/**
 * Restores a snapshot this tool sent (`latest`: the environment's newest, see findOffsiteSnapshot)
 * to `environmentPath`: restic brings it back into a private work folder beside the environment
 * (checking each file's content as it writes it), then it goes through the restore of a backup
 * folder: checked against its own metadata and database, the same prompt (confirm), the
 * environment kept aside, whole or not at all. The fetched tree, the restore's own and on the
 * environment's file system, is moved into place rather than copied again. Whatever happens,
 * the work folder is removed.
 */
export async function restoreFromOffsite(
  repository: OffsiteRepository,
  wanted: string,
  environmentPath: string,
  options: RestoreFromOffsiteOptions = {},
): Promise<RestoreFromOffsiteResult> {
  const environment = path.resolve(environmentPath);
  const snapshot = await findOffsiteSnapshot(repository, wanted, environment, options.signal);
  const shownAs = `the offsite snapshot ${snapshot.shortId} of ${shownLocation(repository.location)}`;
  const made = await makeFolders(path.dirname(environment), 'restore');
  try {
    const restored = await withFetchedSnapshot(
      repository,
      snapshot,
      environment,
      async ({ folder }) => {
        try {
          return await restoreFrom({ folder, archive: shownAs }, environment, options);
        } catch (error) {
          throw withoutWorkFolder(error, folder, shownAs);
        }
      },
      { signal: options.signal, onSwept: options.onSwept, onFetching: () => options.onFetching?.(snapshot) },
    );
    return { ...restored, snapshot, repository: shownLocation(repository.location) };
  } catch (error) {
    await removeMadeFolders(made);
    throw error;
  }
}

/**
 * Restore's words for a tree that is the restore's own (written for archives) said of the
 * snapshot; the work folder is gone by the time a message is read: a path in it is named as in
 * the snapshot.
 */
function withoutWorkFolder(error: unknown, folder: string, shownAs: string): unknown {
  if (!(error instanceof TracBackupError)) {
    return error;
  }
  const work = path.dirname(folder);
  const message = error.message
    .split(folder + path.sep)
    .join(`${shownAs}: `)
    .split(work)
    .join(shownAs)
    .replace(/The archive the offsite snapshot/g, 'The offsite snapshot')
    .replace(/unpacked from the archive the offsite snapshot/g, 'fetched from the offsite snapshot')
    .replace(/The environment unpacked from the archive the offsite snapshot/g, 'The environment fetched from the offsite snapshot')
    .replace(
      'Choose another archive, or make it again from a backup that passes trac-backup verify.',
      'Choose another snapshot, or send a backup that passes trac-backup verify.',
    )
    .replace('make the archive again from the backup.', 'send the backup again.');
  if (message === error.message) {
    return error;
  }
  return new TracBackupError(error.code, message, error.path?.startsWith(work) ? shownAs : error.path, { cause: error });
}
