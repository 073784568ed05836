import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describeError, errnoCode } from '../shared/errors';
import { measureTree, removeTree } from '../fs/fileTree';
import { formatBytes } from '../shared/format';
import { MANIFEST_FILE } from '../catalog/manifest';
import { workOwnerRunning } from './workOwner';
import { renameWithRetry } from '../fs/retry';

/**
 * What a piece of temporary work beside its target is for:
 * - backup: a backup being built, renamed to its final name when complete;
 * - delete: a backup being deleted (renamed first, so that no half backup keeps its name);
 * - restore: the copy of an environment (or an external database) a restore builds;
 * - unpack: an archive being unpacked for a restore;
 * - archive: an archive being written, published under its final name when complete;
 * - fetch: a snapshot of an offsite (restic) repository being brought back for a restore.
 */
export type WorkPurpose = 'backup' | 'delete' | 'restore' | 'unpack' | 'archive' | 'fetch';

const PURPOSES: readonly WorkPurpose[] = ['backup', 'delete', 'restore', 'unpack', 'archive', 'fetch'];

/**
 * One naming scheme for all of it: `.<target name>.<purpose>-<pid>-<8 hex>`, beside the target.
 * Hidden (so listings and searches pass it by), and carrying the id of the process doing the
 * work, so that what a killed process left can be told from work still under way.
 */
const WORK_NAME = new RegExp(`^\\.(.+)\\.(${PURPOSES.join('|')})-(\\d+)-([0-9a-f]{8})$`);

export interface WorkName {
  /** The name of the target the work is for (a backup folder, an environment, an archive file). */
  target: string;
  purpose: WorkPurpose;
  pid: number;
}

/** Work folders and files this process is using now (an extension host outlives a failed task). */
const inUseHere = new Set<string>();

export function parseWorkName(name: string): WorkName | undefined {
  const match = WORK_NAME.exec(name);
  return match ? { target: match[1], purpose: match[2] as WorkPurpose, pid: Number(match[3]) } : undefined;
}

/** True for the name of temporary work of this tool: never a backup or an environment to list. */
export function isWorkName(name: string): boolean {
  return WORK_NAME.test(name);
}

/** A new work path beside `target` for `purpose`, not yet created; marked as in use by this process. */
export function workPathFor(target: string, purpose: WorkPurpose): string {
  const work = path.join(path.dirname(target), `.${path.basename(target)}.${purpose}-${process.pid}-${randomBytes(4).toString('hex')}`);
  inUseHere.add(work);
  return work;
}

/** This process is done with the work path (removed, published, or left for the next run). */
export function releaseWork(work: string): void {
  inUseHere.delete(work);
}

/** True when this process is using the work path now. */
export function isWorkInUseHere(work: string): boolean {
  return inUseHere.has(work);
}

/** Whether the process that made the work at `file` (named by the scheme) is still doing it. */
export async function isWorkRunning(file: string, name: WorkName): Promise<boolean> {
  const stats = await fs.lstat(file).catch(() => undefined);
  if (!stats) {
    return false;
  }
  return workOwnerRunning(name.pid, stats.birthtimeMs || stats.ctimeMs, inUseHere.has(file));
}

export interface SweptWork {
  path: string;
  purpose: WorkPurpose;
  /**
   * removed: the leftover was deleted; finished: a complete backup was put under the name it had
   * claimed; failed: it could not be removed (the detail says why), and is left for a person.
   */
  action: 'removed' | 'finished' | 'failed';
  /** The path it was put at, for 'finished'. */
  finishedAs?: string;
  /**
   * What it was, in words, with its size and the process that left it: "a partial backup
   * trac-20240101-000000 (267 MB) left by a backup that was stopped (process 4242)".
   */
  what: string;
  /** The bytes of its files, measured before it was removed (unset when they could not be). */
  bytes?: number;
  /** What it was and what was done, in words. */
  detail: string;
}

/**
 * Removes the work of the given purposes in `folder` whose process is gone (killed before it could
 * clean up): partial backups, backups half deleted, partial archives (each holding a copy of the
 * database). A backup killed between claiming its final name (an empty folder made there) and
 * the rename into it is finished instead: its metadata is only written once it is complete.
 * Work of running processes is left alone. A missing folder has nothing to sweep. What cannot
 * be cleaned up is reported (action 'failed') and left, never thrown.
 */
export async function sweepDeadWork(folder: string, purposes: readonly WorkPurpose[]): Promise<SweptWork[]> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const swept: SweptWork[] = [];
  for (const name of names) {
    const work = parseWorkName(name);
    if (!work || !purposes.includes(work.purpose)) {
      continue;
    }
    const file = path.join(folder, name);
    if (await isWorkRunning(file, work)) {
      continue;
    }
    swept.push(await sweepOne(file, work, folder));
  }
  return swept;
}

/**
 * Finishes or removes one piece of dead work. A leftover that cannot go (another user's, a
 * read-only disk) must not stop the work that found it: it is reported as failed, and stays.
 */
async function sweepOne(file: string, work: WorkName, folder: string): Promise<SweptWork> {
  const bytes = await sizeOfWork(file);
  const what = describeWork(work, bytes);
  const base = { path: file, purpose: work.purpose, what, ...(bytes !== undefined && { bytes }) };
  try {
    const finishedAs = work.purpose === 'backup' ? await finishClaimedBackup(file, path.join(folder, work.target)) : undefined;
    if (finishedAs) {
      return {
        ...base,
        what: `a complete backup whose process (${work.pid}) was stopped while publishing it`,
        action: 'finished',
        finishedAs,
        detail: `a complete backup whose process (${work.pid}) was stopped while publishing it: moved into ${finishedAs}`,
      };
    }
    await removeTree(file);
    return { ...base, action: 'removed', detail: `${what}: removed` };
  } catch (error) {
    if (
      !(await fs.lstat(file).then(
        () => true,
        () => false,
      ))
    ) {
      return { ...base, action: 'removed', detail: `${what}: removed` }; // by another sweep at the same time (another window)
    }
    return {
      ...base,
      action: 'failed',
      detail: `${what}: could not be cleaned up (${errnoCode(error) ?? describeError(error)}); remove it by hand`,
    };
  }
}

/** The bytes of a piece of work's files (a file's own size); undefined when it cannot be measured. */
export async function sizeOfWork(file: string): Promise<number | undefined> {
  try {
    const stats = await fs.lstat(file);
    return stats.isDirectory() ? (await measureTree(file)).bytes : stats.size;
  } catch {
    return undefined;
  }
}

/** What a piece of work left by a stopped process is, in words, with its size when known. */
export function describeWork(work: WorkName, bytes?: number): string {
  const size = bytes === undefined ? '' : ` (${formatBytes(bytes)})`;
  const by = `(process ${work.pid})`;
  switch (work.purpose) {
    case 'backup':
      return `a partial backup ${work.target}${size} left by a backup that was stopped ${by}`;
    case 'delete':
      return `the rest of the backup ${work.target}${size}, whose deletion was stopped ${by}`;
    case 'archive':
      return `a partial archive ${work.target}${size} left by an export that was stopped ${by}`;
    case 'unpack':
      return `an unpacked copy of ${work.target}${size} left by a restore that was stopped ${by}`;
    case 'restore':
      return `a partial copy of ${work.target}${size} left by a restore that was stopped ${by}`;
    case 'fetch':
      return `a copy of an offsite snapshot for ${work.target}${size} left by a restore from offsite that was stopped ${by}`;
  }
}

/** One sentence for a log about a piece of dead work swept: what it was and what was done. */
export function describeSwept(swept: SweptWork): string {
  switch (swept.action) {
    case 'removed':
      return `Removed ${swept.path}, ${swept.what}.`;
    case 'finished':
      return `Moved ${swept.path} into ${swept.finishedAs}: ${swept.what}.`;
    case 'failed':
      return `${swept.path}: ${swept.detail}.`;
  }
}

/**
 * A backup is published by claiming its final name with mkdir, then renaming the finished copy
 * over that empty folder. When the empty claim is there and the copy holds its metadata (written
 * last, once everything is checked), the rename is all that was left to do: do it.
 */
async function finishClaimedBackup(work: string, dest: string): Promise<string | undefined> {
  const complete = await fs.lstat(path.join(work, MANIFEST_FILE)).then(
    (stats) => stats.isFile(),
    () => false,
  );
  if (!complete) {
    return undefined;
  }
  const claimed = await fs.readdir(dest).then(
    (names) => names.length === 0,
    () => false,
  );
  if (!claimed) {
    return undefined;
  }
  try {
    await renameWithRetry(work, dest);
    return dest;
  } catch (error) {
    if (['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(errnoCode(error) ?? '')) {
      return undefined; // something else took the name meanwhile: the partial copy goes
    }
    throw error;
  }
}
