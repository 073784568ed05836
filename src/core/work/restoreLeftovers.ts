import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TracBackupError, describeError, errnoCode } from '../shared/errors';
import { removeTree } from '../fs/fileTree';
import { RestoreJournal, finishPair, journalPath, journalsInUseHere, readJournal, removeJournal } from './restoreJournal';
import { isWorkInUseHere, parseWorkName } from './workFolder';
import { processAlive, workOwnerRunning } from './workOwner';

export interface RestoreLeftover {
  /** The journal, or the temporary copy. */
  path: string;
  kind: 'journal' | 'temporary';
  /** finish: complete an interrupted swap; remove: a partial copy; keep: in use, or needs a person. */
  action: 'finish' | 'remove' | 'keep';
  /** True once done (cleanRestoreLeftovers); false when only found (findRestoreLeftovers). */
  done: boolean;
  detail: string;
  /** For an interrupted swap: the backup (or archive) that restore was restoring, and where it kept the environment. */
  restoredFrom?: string;
  keptAs?: string | null;
}

/**
 * What earlier restores of `environment` that were killed left behind, without changing anything:
 * a journal (a restore killed during its swap) and partial copies beside the environment and
 * beside `databaseFiles` (external databases). Each says what the next restore does with it.
 */
export async function findRestoreLeftovers(environment: string, databaseFiles: string[] = []): Promise<RestoreLeftover[]> {
  return handleLeftovers(path.resolve(environment), databaseFiles, false);
}

/**
 * Deals with those leftovers, as every restore does first: finishes an interrupted swap (its
 * copies were complete and checked: the journal is only written then), removes partial copies
 * (copies of a backup, never the only copy of anything), and never touches a folder kept aside.
 * Throws RESTORE_IN_PROGRESS when a restore that is still running owns them.
 */
export async function cleanRestoreLeftovers(environment: string, databaseFiles: string[] = []): Promise<RestoreLeftover[]> {
  return handleLeftovers(path.resolve(environment), databaseFiles, true);
}

async function handleLeftovers(environment: string, databaseFiles: string[], apply: boolean): Promise<RestoreLeftover[]> {
  const leftovers: RestoreLeftover[] = [];
  const claimed = new Set<string>();
  const journal = await handleJournal(environment, apply, leftovers);
  for (const pair of journal?.pairs ?? []) {
    claimed.add(pair.temp);
  }
  const targets = [environment, ...databaseFiles.map((file) => path.resolve(file))];
  for (const target of [...new Set(targets)]) {
    for (const name of await listFolder(path.dirname(target))) {
      const work = parseWorkName(name);
      const owner = work?.purpose === 'restore' && work.target === path.basename(target) ? work.pid : undefined;
      const file = path.join(path.dirname(target), name);
      if (owner === undefined || claimed.has(file)) {
        continue;
      }
      const stats = await fs.lstat(file).catch(() => undefined);
      if (stats && workOwnerRunning(owner, stats.birthtimeMs || stats.ctimeMs, isWorkInUseHere(file))) {
        if (apply) {
          throw inProgress(environment, owner);
        }
        leftovers.push({
          path: file,
          kind: 'temporary',
          action: 'keep',
          done: false,
          detail: `in use by a restore that is running (process ${owner})`,
        });
        continue;
      }
      if (apply) {
        await removeTree(file);
      }
      leftovers.push({
        path: file,
        kind: 'temporary',
        action: 'remove',
        done: apply,
        detail: `a partial copy left by a restore that was stopped (process ${owner})${apply ? ': removed' : ''}`,
      });
    }
  }
  const journalTemp = `${path.basename(journalPath(environment))}.`;
  for (const name of await listFolder(path.dirname(environment))) {
    const owner = name.startsWith(journalTemp) ? Number(name.slice(journalTemp.length).replace(/\.tmp$/, '')) : NaN;
    if (Number.isInteger(owner) && (owner === process.pid ? !journalsInUseHere.has(journalPath(environment)) : !processAlive(owner))) {
      const file = path.join(path.dirname(environment), name);
      if (apply) {
        await fs.rm(file, { force: true });
      }
      leftovers.push({ path: file, kind: 'journal', action: 'remove', done: apply, detail: 'a journal that was never completed' });
    }
  }
  return leftovers;
}

async function handleJournal(environment: string, apply: boolean, leftovers: RestoreLeftover[]): Promise<RestoreJournal | undefined> {
  const file = journalPath(environment);
  let journal: RestoreJournal | undefined;
  try {
    journal = await readJournal(environment);
  } catch (error) {
    const detail = `cannot be read (${describeError(error)}): check that ${environment} is as you want it, then remove this file`;
    if (apply) {
      throw new TracBackupError('RESTORE_IN_PROGRESS', `The restore journal ${file} ${detail} and restore again.`, file);
    }
    leftovers.push({ path: file, kind: 'journal', action: 'keep', done: false, detail });
    return undefined;
  }
  if (!journal) {
    return undefined;
  }
  if (journal.host === os.hostname() && workOwnerRunning(journal.pid, Date.parse(journal.startedAt), journalsInUseHere.has(file))) {
    if (apply) {
      throw inProgress(environment, journal.pid);
    }
    leftovers.push({
      path: file,
      kind: 'journal',
      action: 'keep',
      done: false,
      detail: `a restore is swapping folders right now (process ${journal.pid})`,
    });
    return journal;
  }
  const outcomes = [];
  for (const pair of journal.pairs) {
    outcomes.push(await finishPair(pair, apply));
  }
  const finished = outcomes.every((outcome) => outcome.finished);
  if (apply && finished) {
    await removeJournal(environment);
  }
  const steps = outcomes.map((outcome) => outcome.action).join('; ');
  leftovers.push({
    path: file,
    kind: 'journal',
    action: finished ? 'finish' : 'keep',
    done: apply && finished,
    detail: `a restore of ${journal.backup} (started ${journal.startedAt}) was stopped while swapping folders; ${apply ? 'finished it' : 'the next restore finishes it'}: ${steps}`,
    restoredFrom: journal.backup,
    keptAs: journal.pairs.find((pair) => pair.live === environment)?.aside ?? null,
  });
  if (apply && !finished) {
    throw new TracBackupError(
      'RESTORE_IN_PROGRESS',
      `A restore of ${journal.backup} into ${environment} was stopped while swapping folders and cannot be finished: ${steps}. ` +
        `Once ${environment} is as you want it, remove ${file} and restore again.`,
      file,
    );
  }
  return journal;
}

/** True when process `pid` runs, is not a later process given the same id, and (if it is this one) still uses `file`. */
function inProgress(environment: string, pid: number): TracBackupError {
  return new TracBackupError(
    'RESTORE_IN_PROGRESS',
    `Another restore of ${environment} is running (process ${pid}): wait for it to finish, then try again.`,
    environment,
  );
}

async function listFolder(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      return [];
    }
    throw error;
  }
}
