import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BackupInfo, groupByEnvironment, identifyEnvironment, isBackupOf, listBackups } from './backupCatalog';
import { whyChangedSinceMade } from './changedSinceMade';
import { whyNotAnEnvironment } from '../trac/environment';
import { TracBackupError, describeError, errnoCode, throwIfAborted } from '../shared/errors';
import { removeTree } from '../fs/fileTree';
import { BackupManifest, readManifest } from './manifest';
import { RetentionDecision, RetentionPolicy, checkRetentionPolicy, planRetention } from './retention';
import { SweptWork, releaseWork, sweepDeadWork, workPathFor } from '../work/workFolder';
import { renameWithRetry } from '../fs/retry';

export interface PruneOptions {
  /** Plan only: list what would go, delete nothing. */
  dryRun?: boolean;
  /** For "dated in the future" (default: now). */
  now?: Date;
  /** Stops between two deletions (a deletion itself runs to its end). */
  signal?: AbortSignal;
  /** Only the backups of this environment; default: every environment, each on its own. */
  environment?: string;
  /**
   * Delete only these (paths a person confirmed from a dry run): a backup the plan removes now
   * but that was not shown is left alone.
   */
  confirmed?: readonly string[];
}

export type PruneBackup = BackupInfo & { protected?: string };

export interface PruneResult {
  folder: string;
  dryRun: boolean;
  /** Newest first, with the rules that keep each. */
  keep: Array<RetentionDecision<PruneBackup>>;
  /** What the policy removes (with dryRun: would remove), newest first. */
  remove: Array<RetentionDecision<PruneBackup>>;
  /** Paths deleted. */
  removed: string[];
  failed: Array<{ path: string; error: string }>;
  /** True when the signal stopped it before every deletion was done. */
  cancelled: boolean;
  /** What killed backups and deletions had left in the folder, swept first (not on a dry run). */
  swept: SweptWork[];
}

/**
 * Applies a retention policy to the backups in `folder`: the policy counts each environment's
 * backups separately (a folder may hold several, of several machines: see groupByEnvironment), then the backups no rule keeps are deleted,
 * oldest first. Never touched: anything that is not a backup, backups made before a restore,
 * backups whose metadata cannot be read, plain copies without metadata (whose environment is
 * unknown), and links to folders elsewhere; all of these are listed as kept, with the reason.
 * Nor is a folder that changed since it was made (see changedSinceMade.ts): an environment put
 * back from a backup by hand carries its metadata, and its new work with it.
 * Deleting a backup never changes another, even one sharing files with it through hard links.
 */
export async function pruneBackups(folder: string, policy: RetentionPolicy, options: PruneOptions = {}): Promise<PruneResult> {
  checkRetentionPolicy(policy);
  await requireBackupFolder(folder);
  const swept = options.dryRun ? [] : await sweepDeadWork(folder, ['backup', 'delete']);
  const now = options.now ?? new Date();
  const listed = await backupsToConsider(folder, options.environment);
  // The protected ones are kept whatever their group; with --environment every backup is of it.
  const candidates = listed.filter((backup) => !backup.protected);
  const groups = [
    listed.filter((backup) => backup.protected),
    ...(options.environment !== undefined ? [candidates] : await groupByEnvironment(candidates)),
  ];
  const result: PruneResult = {
    folder: path.resolve(folder),
    dryRun: options.dryRun ?? false,
    keep: [],
    remove: [],
    removed: [],
    failed: [],
    cancelled: false,
    swept,
  };
  for (const group of groups) {
    const plan = planRetention(group, policy, now);
    result.keep.push(...plan.keep);
    result.remove.push(...plan.remove);
  }
  const newestFirst = (a: RetentionDecision<PruneBackup>, b: RetentionDecision<PruneBackup>) =>
    b.backup.createdAt.getTime() - a.backup.createdAt.getTime();
  result.keep.sort(newestFirst);
  result.remove.sort(newestFirst);
  if (result.dryRun) {
    return result;
  }
  const confirmed = options.confirmed && new Set(options.confirmed.map((confirmedPath) => path.resolve(confirmedPath)));
  for (const { backup } of [...result.remove].reverse()) {
    if (confirmed && !confirmed.has(backup.path)) {
      continue;
    }
    if (options.signal?.aborted) {
      result.cancelled = true;
      break;
    }
    try {
      await deleteBackup(backup.path);
      result.removed.push(backup.path);
    } catch (error) {
      result.failed.push({ path: backup.path, error: describeError(error) });
    }
  }
  return result;
}

/**
 * A folder to prune must be there and readable: a typo in a cron line must fail loudly, not
 * report "Deleted 0 backups" night after night.
 */
async function requireBackupFolder(folder: string): Promise<void> {
  const dir = path.resolve(folder);
  const refuse = (problem: string, error?: unknown) =>
    new TracBackupError('INVALID_ARGUMENT', `Can't prune ${dir}: ${problem}.`, dir, { cause: error });
  const stats = await fs.stat(dir).catch((error: unknown) => {
    throw errnoCode(error) === 'ENOENT'
      ? refuse('it does not exist (check the path of the folder that holds the backups)', error)
      : refuse(`it cannot be read (${errnoCode(error) ?? describeError(error)})`, error);
  });
  if (!stats.isDirectory()) {
    throw refuse('it is not a folder (give the folder that holds the backups)');
  }
  await fs.readdir(dir).catch((error: unknown) => {
    throw refuse(`it cannot be read (${errnoCode(error) ?? describeError(error)}): run as a user who can read it`, error);
  });
}

/** The folder's backups, those prune must not touch marked protected with the reason. */
async function backupsToConsider(folder: string, environment: string | undefined): Promise<PruneBackup[]> {
  const result: PruneBackup[] = [];
  const wanted = environment === undefined ? undefined : await identifyEnvironment(environment);
  for (const backup of await listBackups(folder)) {
    if (wanted && !(await isBackupOf(backup, wanted))) {
      continue;
    }
    const isLink = (await fs.lstat(backup.path).catch(() => undefined))?.isSymbolicLink() ?? true;
    const why = isLink
      ? 'a link to a folder elsewhere: left alone'
      : backup.problem
        ? `its metadata cannot be read (${backup.problem}): left for you to check`
        : !backup.sourcePath
          ? 'a copy without trac-backup metadata (its environment is unknown): left alone'
          : await whyNotPrunable(backup.path);
    result.push(why ? { ...backup, protected: why } : backup);
  }
  return result;
}

/**
 * Why a listed backup must stay: the listing read only the head of its metadata, and the rest
 * cannot be read; or it changed since it was made (whyNotUnchanged).
 */
async function whyNotPrunable(dir: string): Promise<string | undefined> {
  let manifest: BackupManifest | undefined;
  try {
    manifest = await readManifest(dir);
  } catch (error) {
    return `its metadata cannot be read (${describeError(error)}): left for you to check`;
  }
  return whyNotUnchanged(dir, manifest);
}

/**
 * Why a folder with metadata must not be deleted as a backup: it changed since it was made (an
 * environment put back from it by hand, in use since); undefined when it is the backup still.
 */
async function whyNotUnchanged(dir: string, read?: BackupManifest): Promise<string | undefined> {
  const manifest = read ?? (await readManifest(dir).catch(() => undefined));
  const changed = manifest && (await whyChangedSinceMade(dir, manifest));
  return changed && `changed since it was made: ${changed} — not a backup any more, left alone`;
}

/**
 * Deletes one backup: first renamed to a hidden temporary name (a crash midway leaves no
 * half backup listed as a backup), then removed. Refuses what is not a backup, or not any more
 * (changed since it was made). Files it shares
 * with other backups through hard links stay in those: unlinking one name leaves the others.
 * (On Windows deleting a read-only file clears the read-only flag all its links share: removeTree
 * puts it back on theirs, see fs/sharedReadOnly.ts.)
 */
export async function deleteBackup(backupPath: string, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal, 'Deleting the backup');
  const dir = path.resolve(backupPath);
  const stats = await fs.lstat(dir).catch((error: unknown) => {
    throw new TracBackupError(
      'INVALID_ARGUMENT',
      `Can't delete ${dir}: ${errnoCode(error) === 'ENOENT' ? 'it does not exist' : describeError(error)}.`,
      dir,
    );
  });
  const hasManifest = stats.isDirectory() && (await readManifest(dir).then(Boolean, () => true));
  if (!stats.isDirectory() || (!hasManifest && (await whyNotAnEnvironment(dir)))) {
    throw new TracBackupError(
      'INVALID_ARGUMENT',
      `Can't delete ${dir}: it is not a backup (no trac-backup metadata, not a Trac environment).`,
      dir,
    );
  }
  const changed = await whyNotUnchanged(dir);
  if (changed) {
    throw new TracBackupError(
      'INVALID_ARGUMENT',
      `Can't delete ${dir}: it ${changed.replace(/ — .*$/, '')}, so it is not a backup any more (an environment put back from one, ` +
        'in use since?). Delete it yourself if you mean to.',
      dir,
    );
  }
  const doomed = workPathFor(dir, 'delete');
  try {
    await renameWithRetry(dir, doomed);
    await removeTree(doomed);
  } finally {
    releaseWork(doomed);
  }
}
