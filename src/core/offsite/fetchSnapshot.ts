import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { removeTree } from '../fs/fileTree';
import { releaseWork, sweepDeadWork, SweptWork, workPathFor } from '../work/workFolder';
import { OffsiteRepository } from './resticRepository';
import { runRestic } from './resticProcess';
import { OffsiteSnapshot } from './offsiteSnapshots';

export interface FetchedSnapshot {
  /** The snapshot's files (a backup folder's content), in the work folder. */
  folder: string;
  snapshot: OffsiteSnapshot;
}

/**
 * Brings a snapshot back into a private (0700) work folder beside `target` (the environment it
 * is for: on its file system, so that the restore moves it into place rather than copying it
 * again), runs `use` on it, and removes the folder whatever happens. restic checks each file's
 * content as it restores it (--verify); the caller then checks the tree against the backup's own
 * metadata. Work folders left by fetches that were killed are swept first (onSwept).
 */
export async function withFetchedSnapshot<T>(
  repository: OffsiteRepository,
  snapshot: OffsiteSnapshot,
  target: string,
  use: (fetched: FetchedSnapshot) => Promise<T>,
  options: { signal?: AbortSignal; onSwept?: (swept: SweptWork) => void; onFetching?: () => void } = {},
): Promise<T> {
  const parent = path.dirname(path.resolve(target));
  for (const swept of await sweepDeadWork(parent, ['fetch'])) {
    options.onSwept?.(swept);
  }
  const work = workPathFor(path.resolve(target), 'fetch');
  try {
    await fs.mkdir(work, { mode: 0o700 });
    const folder = path.join(work, 'backup');
    options.onFetching?.();
    await runRestic(repository, {
      args: ['restore', snapshot.id, '--target', folder, '--verify'],
      signal: options.signal,
      what: 'The restore from offsite',
    });
    await fs.mkdir(folder, { recursive: true });
    return await use({ folder, snapshot });
  } finally {
    await removeTree(work).catch(() => undefined); // a later fetch beside it sweeps what could not go now
    releaseWork(work);
  }
}
