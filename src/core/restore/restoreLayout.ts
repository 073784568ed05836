import * as path from 'node:path';
import { pathExists } from '../fs/fileTree';
import { parseWorkName, workPathFor } from '../work/workFolder';

/**
 * The names a restore uses beside what it replaces (the environment folder, an external database):
 * - `<name>.before-restore-<YYYYMMDD-HHMMSS>`: what was there, kept; never deleted by a restore;
 * - `.<name>.restore-<pid>-<hex>`: the copy being built, removed when the restore fails;
 * - `.<name>.restore-journal.json`: written once every copy is complete and checked, removed after
 *   the swap; while it exists, a restore has committed and the next run completes its swap.
 */
export const ASIDE_MARK = '.before-restore-';
const SQLITE_SIDE_SUFFIXES = ['-wal', '-shm', '-journal'];

/** YYYYMMDD-HHMMSS in local time, like backup names. */
export function restoreStamp(date: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return (
    `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}-` +
    `${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`
  );
}

/**
 * `<target>.before-restore-<stamp>`, or with -2, -3, … when taken. For a database, its SQLite
 * side files move with it: those names must be free too (a rename would replace a file).
 */
export async function chooseAsidePath(target: string, now: Date, withSqliteSideFiles = false): Promise<string> {
  const base = `${target}${ASIDE_MARK}${restoreStamp(now)}`;
  for (let attempt = 1; ; attempt++) {
    const candidate = attempt === 1 ? base : `${base}-${attempt}`;
    const names = [candidate, ...(withSqliteSideFiles ? SQLITE_SIDE_SUFFIXES.map((suffix) => candidate + suffix) : [])];
    if (!(await Promise.all(names.map(pathExists))).some(Boolean)) {
      return candidate;
    }
  }
}

export function sqliteSidePaths(file: string): string[] {
  return SQLITE_SIDE_SUFFIXES.map((suffix) => file + suffix);
}

/** A new name for the copy of `target` being built, beside it; carries this process's id. */
export function temporaryPath(target: string): string {
  return workPathFor(target, 'restore');
}

/** The id of the process that made a temporary copy of `target`, when `name` is one. */
export function temporaryOwner(target: string, name: string): number | undefined {
  const work = parseWorkName(name);
  return work?.purpose === 'restore' && work.target === path.basename(target) ? work.pid : undefined;
}

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
