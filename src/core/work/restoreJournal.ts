import { promises as fs, renameSync, rmdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errnoCode } from '../shared/errors';
import { pathExists } from '../fs/fileTree';
import { destinationError } from '../fs/fsErrors';
import { sqliteSideFiles } from '../sqlite/sqlite';

/** One thing a restore swaps in: the live path, the finished copy, and where the live one is kept. */
export interface SwapPair {
  live: string;
  temp: string;
  aside: string | null;
  /** A database file: its -wal, -shm and -journal move aside with it, or SQLite would apply them to the new one. */
  sqlite?: boolean;
}

/** `.<environment>.restore-journal.json`, beside the environment. */
export function journalPath(environment: string): string {
  return path.join(path.dirname(environment), `.${path.basename(environment)}.restore-journal.json`);
}

/** True for a restore's journal (or the journal being written): never an environment or a backup to list. */
export function isRestoreJournalName(name: string): boolean {
  return /^\..+\.restore-journal\.json(\.\d+\.tmp)?$/.test(name);
}

/**
 * Journals this process is working with now. A journal carrying this process's id belongs to a
 * running restore only when it is listed here (the extension host lives on after a restore fails).
 */
export const journalsInUseHere = new Set<string>();

/**
 * Written beside the environment once every copy is complete and checked, just before the swap,
 * and removed after it: the commit point. A journal left behind means a run was killed during
 * its swap; the next run finishes that swap (every copy in it was checked) rather than undoing it.
 */
export interface RestoreJournal {
  format: 1;
  pid: number;
  host: string;
  startedAt: string;
  environment: string;
  backup: string;
  pairs: SwapPair[];
}

/**
 * Writes the journal beside the environment: into a temporary file first, renamed into place once
 * flushed. On failure (a full disk) the temporary file is removed, and the error names the folder.
 */
export async function writeJournal(journal: Omit<RestoreJournal, 'format' | 'pid' | 'host'>): Promise<string> {
  const file = journalPath(journal.environment);
  const temp = `${file}.${process.pid}.tmp`;
  journalsInUseHere.add(file);
  const full: RestoreJournal = { format: 1, pid: process.pid, host: os.hostname(), ...journal };
  try {
    const handle = await fs.open(temp, 'w', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(full, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw destinationError(error, path.dirname(file), 'restore');
  }
  return file;
}

/** The journal of `environment`; undefined when there is none; throws when it cannot be read. */
export async function readJournal(environment: string): Promise<RestoreJournal | undefined> {
  let text: string;
  try {
    text = await fs.readFile(journalPath(environment), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  const journal = JSON.parse(text) as RestoreJournal;
  if (journal.format !== 1 || !Array.isArray(journal.pairs) || typeof journal.pid !== 'number') {
    throw new SyntaxError('not a restore journal this version reads');
  }
  return journal;
}

export async function removeJournal(environment: string): Promise<void> {
  await fs.rm(journalPath(environment), { force: true });
}

/** This process no longer works with the journal (removed, or left for the next run). */
export function releaseJournal(environment: string): void {
  journalsInUseHere.delete(journalPath(environment));
}

/** What finishing a pair's swap did (or would do), in words. */
export interface PairOutcome {
  pair: SwapPair;
  finished: boolean;
  action: string;
}

/**
 * Brings a pair to its swapped state from wherever the killed run stopped: moves the live copy
 * aside if it was not yet, then the finished copy in. Only renames, never a delete. When the
 * state is not one the swap can leave (something else changed the paths), nothing is touched.
 */
export async function finishPair(pair: SwapPair, apply: boolean): Promise<PairOutcome> {
  const [live, temp, aside] = await Promise.all([
    pathExists(pair.live),
    pathExists(pair.temp),
    pair.aside ? pathExists(pair.aside) : false,
  ]);
  const outcome = (finished: boolean, action: string): PairOutcome => ({ pair, finished, action });
  if (!temp && live) {
    return outcome(true, `${pair.live} is already in place`);
  }
  if (!temp) {
    if (aside && pair.aside) {
      if (apply) {
        renameSync(pair.aside, pair.live);
      }
      return outcome(false, `the restored copy ${pair.temp} is gone: move ${pair.aside} back to ${pair.live}`);
    }
    return outcome(false, `${pair.live}, its restored copy and its previous version are all missing`);
  }
  if (live && pair.aside && !aside) {
    if (apply) {
      renameSync(pair.live, pair.aside);
      if (pair.sqlite) {
        await moveSideFiles(pair.live, pair.aside);
      }
      renameSync(pair.temp, pair.live);
    }
    return outcome(true, `move ${pair.live} aside to ${pair.aside}, then the restored copy ${pair.temp} in`);
  }
  if (live && !pair.aside && (await isEmptyFolder(pair.live))) {
    if (apply) {
      if (process.platform === 'win32') {
        rmdirSync(pair.live);
      }
      renameSync(pair.temp, pair.live);
    }
    return outcome(true, `move the restored copy ${pair.temp} into ${pair.live}`);
  }
  if (live) {
    return outcome(
      false,
      `leave the restored copy ${pair.temp} alone: ${pair.live} was changed since; compare them and keep the one you want`,
    );
  }
  if (apply) {
    if (pair.sqlite && pair.aside) {
      await moveSideFiles(pair.live, pair.aside);
    }
    renameSync(pair.temp, pair.live);
  }
  return outcome(
    true,
    `move the restored copy ${pair.temp} into ${pair.live}${pair.aside ? ` (the previous one is in ${pair.aside})` : ''}`,
  );
}

async function moveSideFiles(live: string, aside: string): Promise<void> {
  const asideSides = sqliteSideFiles(aside);
  for (const [index, side] of sqliteSideFiles(live).entries()) {
    if ((await pathExists(side)) && !(await pathExists(asideSides[index]))) {
      renameSync(side, asideSides[index]);
    }
  }
}

async function isEmptyFolder(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length === 0;
  } catch {
    return false;
  }
}
