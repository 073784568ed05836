import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathExists } from '../fs/fileTree';
import { errnoCode } from '../shared/errors';
import { fileStamp } from '../shared/format';
import { sqliteSideFiles } from '../sqlite/sqlite';

/**
 * The names backups and the copies a restore keeps have, beside the temporary work names of
 * work/workFolder.ts:
 * - `<environment>-YYYYMMDD-HHMMSS` (then `-2`, `-3`, …): a backup, in its backup folder;
 * - `<environment>.before-restore-YYYYMMDD-HHMMSS`: the environment (or an external database) as
 *   it was before a restore replaced it, kept beside it; never deleted or pruned by Trac Backup.
 */
const KEPT_MARK = '.before-restore-';

/** Where backups of an environment go by default: `<parent>/<name>-backups`, beside it. */
export function defaultBackupFolder(environmentPath: string): string {
  const resolved = path.resolve(environmentPath);
  return path.join(path.dirname(resolved), `${path.basename(resolved)}-backups`);
}

/** `<environment folder name>-YYYYMMDD-HHMMSS`, in local time. */
export function newBackupName(environmentPath: string, date: Date = new Date()): string {
  return `${path.basename(path.resolve(environmentPath))}-${fileStamp(date)}`;
}

/**
 * folder/baseName, or folder/baseName-2, -3, … : the first that does not exist and is not in
 * `taken` (destinations of backups still running in this process). Never an overwrite.
 */
export async function chooseFreeBackupPath(folder: string, baseName: string, taken: ReadonlySet<string> = new Set()): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const candidate = path.join(folder, attempt === 1 ? baseName : `${baseName}-${attempt}`);
    if (taken.has(candidate)) {
      continue;
    }
    try {
      await fs.lstat(candidate);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        return candidate;
      }
      throw error;
    }
  }
}

/** True for the name of a copy a restore kept of what it replaced: listed with the backups, never pruned. */
export function isKeptBeforeRestore(name: string): boolean {
  return name.includes(KEPT_MARK);
}

/** How the names of the copies restores kept of `target` begin. */
export function keptBeforeRestorePrefix(target: string): string {
  return `${path.basename(target)}${KEPT_MARK}`;
}

/**
 * `<target>.before-restore-<stamp>`, or with -2, -3, … when taken. For a database, its SQLite
 * side files move with it: those names must be free too (a rename would replace a file).
 */
export async function chooseAsidePath(target: string, now: Date, withSqliteSideFiles = false): Promise<string> {
  const base = `${target}${KEPT_MARK}${fileStamp(now)}`;
  for (let attempt = 1; ; attempt++) {
    const candidate = attempt === 1 ? base : `${base}-${attempt}`;
    const names = [candidate, ...(withSqliteSideFiles ? sqliteSideFiles(candidate) : [])];
    if (!(await Promise.all(names.map(pathExists))).some(Boolean)) {
      return candidate;
    }
  }
}
