import * as path from 'node:path';
import { describeError } from '../shared/errors';
import { pathExists, removeTree } from '../fs/fileTree';
import { findRestoreLeftovers } from './restoreLeftovers';
import { describeSwept, describeWork, parseWorkName, sizeOfWork, sweepDeadWork } from './workFolder';

/** An environment and where its backups go: the places its operations leave work in. */
export interface SweepTarget {
  environment: string;
  backupFolder: string;
  /** Its database files outside it (an absolute sqlite: path): a restore builds their copies beside them. */
  databaseFiles?: string[];
}

export interface SweptLeftover {
  path: string;
  /**
   * removed: deleted; finished: a complete backup put under its name; failed: could not be
   * removed (left for a person); left: not swept on purpose (a restore's interrupted swap, which
   * the next restore finishes), reported so that someone knows.
   */
  action: 'removed' | 'finished' | 'failed' | 'left';
  /** The bytes of its files before it was removed, when measured. */
  bytes?: number;
  /** One sentence for a log: what it was (with its size and the process that left it) and what was done. */
  message: string;
}

/**
 * Sweeps what killed runs (a window reloaded or an extension host that crashed stops backups,
 * exports, deletions and restores midway; so does kill -9 of the CLI) left around each target:
 * - in its backup folder: partial backups (a complete one killed while publishing is put in
 *   place), the rest of half-deleted backups, partial archives;
 * - beside the environment: unpacked archives, half-deleted kept copies, partial archives, and
 *   the partial copies of restores. A restore stopped while swapping folders is reported, not
 *   finished: finishing it is the next restore's to do (it takes the environment's lease);
 * - beside an external database: the partial copies of restores.
 * Work of a process that still runs is left alone; a folder shared by several targets is swept
 * once. Never throws: what cannot be cleaned up is reported (action 'failed').
 */
export async function sweepEnvironmentLeftovers(...targets: SweepTarget[]): Promise<SweptLeftover[]> {
  const swept: SweptLeftover[] = [];
  const done = new Set<string>();
  const sweepFolder = async (folder: string, purposes: Parameters<typeof sweepDeadWork>[1]) => {
    const key = `${path.resolve(folder)}\0${purposes.join(',')}`;
    if (done.has(key)) {
      return;
    }
    done.add(key);
    for (const item of await sweepDeadWork(folder, purposes)) {
      swept.push({
        path: item.path,
        action: item.action,
        ...(item.bytes !== undefined && { bytes: item.bytes }),
        message: describeSwept(item),
      });
    }
  };
  for (const target of targets) {
    await sweepFolder(target.backupFolder, ['backup', 'delete', 'archive']);
    await sweepFolder(path.dirname(path.resolve(target.environment)), ['unpack', 'fetch', 'delete', 'archive']);
    swept.push(...(await sweepRestoreCopies(target)));
  }
  return swept;
}

/** The partial copies of stopped restores of the target (removed) and its interrupted swap (reported). */
async function sweepRestoreCopies(target: SweepTarget): Promise<SweptLeftover[]> {
  const environment = path.resolve(target.environment);
  let found;
  try {
    found = await findRestoreLeftovers(environment, target.databaseFiles);
  } catch (error) {
    return [
      {
        path: environment,
        action: 'failed',
        message: `The restore leftovers beside ${environment} could not be listed: ${describeError(error)}.`,
      },
    ];
  }
  const swept: SweptLeftover[] = [];
  for (const leftover of found) {
    if (leftover.action === 'remove') {
      const work = parseWorkName(path.basename(leftover.path));
      const bytes = await sizeOfWork(leftover.path);
      const what = work
        ? describeWork(work, bytes)
        : leftover.kind === 'journal'
          ? 'a restore journal that was never completed'
          : leftover.detail;
      try {
        await removeTree(leftover.path);
        swept.push({
          path: leftover.path,
          action: 'removed',
          ...(bytes !== undefined && { bytes }),
          message: `Removed ${leftover.path}, ${what}.`,
        });
      } catch (error) {
        const gone = !(await pathExists(leftover.path).catch(() => true)); // removed by another window's sweep meanwhile
        swept.push(
          gone
            ? { path: leftover.path, action: 'removed', message: `Removed ${leftover.path}, ${what}.` }
            : {
                path: leftover.path,
                action: 'failed',
                message: `${leftover.path}: ${what}: could not be removed (${describeError(error)}); remove it by hand.`,
              },
        );
      }
    } else if (leftover.action === 'finish') {
      swept.push({
        path: leftover.path,
        action: 'left',
        message:
          `A restore of ${leftover.restoredFrom} into ${environment} was stopped while swapping folders (${leftover.path}): ` +
          'restore that backup again to finish it.',
      });
    } else if (leftover.kind === 'journal') {
      // A journal that cannot be read, or a swap that cannot be finished: a person must look.
      swept.push({ path: leftover.path, action: 'left', message: `${leftover.path}: ${leftover.detail}.` });
    }
    // A copy kept because its restore is running is no leftover: nothing to say.
  }
  return swept;
}
