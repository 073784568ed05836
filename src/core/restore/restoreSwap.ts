import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { inUseHint, renameWithRetry } from '../fs/retry';
import { TracBackupError, describeError } from '../shared/errors';
import { SwapPair } from '../work/restoreJournal';
import { sqliteSideFiles } from '../sqlite/sqlite';

export type { SwapPair } from '../work/restoreJournal';

/**
 * One thing a restore replaces: `live` (the environment folder, or an external database file) is
 * moved to `aside` (null when nothing is there to keep), then the finished copy `temp` takes its place.
 */
type Rename = [from: string, to: string];

/** A swap that failed; `undone` says whether everything was put back as it was. */
export class SwapError extends TracBackupError {
  constructor(
    message: string,
    path: string | undefined,
    readonly undone: boolean,
    cause: unknown,
  ) {
    super('RESTORE_FAILED', message, path, { cause });
  }
}

/** An undo keeps trying this long (ms): until it succeeds the environment's path may be empty. */
const UNDO_BUDGET_MS = 60_000;

/**
 * Swaps every pair in, with renames only, one after the other (the environment path is without
 * a folder only between its two renames). A rename refused for a moment (Windows: an antivirus
 * scan, the indexer, an open handle) is retried with backoff (fs/retry.ts). When a rename fails
 * for good, those done are undone in reverse order, each retried for up to a minute, so that the
 * environment's path is not left empty; the error says what happened; if an undo fails even so,
 * the error says where everything is, and the journal (left in place by the caller) lets the next
 * run finish the swap.
 */
export async function swapIn(pairs: SwapPair[]): Promise<void> {
  const done: Rename[] = [];
  try {
    for (const rename of pairs.flatMap(renamesFor)) {
      if (rename[1] === rename[0]) {
        continue;
      }
      await renameWithRetry(rename[0], rename[1]);
      done.push(rename);
    }
  } catch (error) {
    const undone = await rollBack(done);
    const live = pairs[pairs.length - 1]?.live;
    if (undone !== true) {
      throw new SwapError(
        `The restore failed while swapping folders (${describeError(error)}) and could not be undone (${undone}). ` +
          `Where things are now: ${pairs.map(describePair).join('; ')}. Run the restore again to finish it.`,
        live,
        false,
        error,
      );
    }
    const held = inUseHint(error, pairs[pairs.length - 1]?.live ?? '');
    throw new SwapError(
      `The restore failed while swapping folders (${describeError(error)}); it was undone: nothing was changed.${held ? ` ${held}` : ''}`,
      live,
      true,
      error,
    );
  }
}

/** The renames of a pair, as planned: live (and its side files) aside, then temp into place. */
function renamesFor(pair: SwapPair): Rename[] {
  const renames: Rename[] = [];
  if (pair.aside) {
    renames.push([pair.live, pair.aside]);
    if (pair.sqlite) {
      const asideSides = sqliteSideFiles(pair.aside);
      sqliteSideFiles(pair.live).forEach((side, index) => {
        if (existsSync(side)) {
          renames.push([side, asideSides[index]]);
        }
      });
    }
  } else if (process.platform === 'win32' && isEmptyFolder(pair.live)) {
    // Windows cannot rename onto an existing folder, even an empty one.
    rmdirSync(pair.live);
  }
  renames.push([pair.temp, pair.live]);
  return renames;
}

async function rollBack(done: Rename[]): Promise<true | string> {
  for (const [from, to] of [...done].reverse()) {
    try {
      await renameWithRetry(to, from, { budgetMs: UNDO_BUDGET_MS });
    } catch (error) {
      return `moving ${to} back to ${from}: ${describeError(error)}`;
    }
  }
  return true;
}

function describePair(pair: SwapPair): string {
  const at = (file: string) => (existsSync(file) ? file : `${file} (missing)`);
  return `${at(pair.live)}, finished copy ${at(pair.temp)}${pair.aside ? `, previous ${at(pair.aside)}` : ''}`;
}

function isEmptyFolder(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}
