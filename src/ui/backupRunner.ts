import * as vscode from 'vscode';
import { BackupInfo, chooseFreeBackupPath, environmentBackups, isBackupOf, newBackupName } from '../core/catalog/backupCatalog';
import { TracBackupError, isCancelled } from '../core/shared/errors';
import { HotcopyResult, hotcopy } from '../core/backup/hotcopy';
import { ASIDE_MARK } from '../core/restore/restoreLayout';
import { VerifyResult, verifyBackup } from '../core/verify/verify';
import { ListedEnvironment } from './environmentRegistry';
import { PhaseProgress } from './progressReporter';
import { explainBackupFolderError } from './backupFolderSetting';
import { logSwept } from './leftoverSweep';
import { settings } from './settings';
import { VerifyStatusStore } from './verifyStatus';

export interface BackupRun {
  result: HotcopyResult;
  /** The check right after (tracBackup.verifyAfterBackup); undefined when off or cancelled. */
  verified?: VerifyResult;
}

export interface BackupRunOptions {
  signal: AbortSignal;
  onProgress: (event: PhaseProgress) => void;
  /** Told once the backup is made and its check begins. */
  onVerifying?: () => void;
}

/** Destinations of the backups under way, so that two started in one second get two names. */
const destinationsInUse = new Set<string>();

/**
 * One backup as the settings say: into the backup folder under a new timestamped name,
 * incremental from the newest backup verified since it was made (tracBackup.incremental; the
 * verification may come from the CLI: the store is shared), then verified
 * (tracBackup.verifyAfterBackup). Shared by the command and the schedule.
 */
export async function runBackup(
  listed: ListedEnvironment,
  statuses: VerifyStatusStore,
  log: vscode.LogOutputChannel,
  options: BackupRunOptions,
): Promise<BackupRun> {
  try {
    return await backUp(listed, statuses, log, options);
  } catch (error) {
    // A tracBackup.backupFolder that names a file: the fix is in the setting, which the error names.
    throw await explainBackupFolderError(error, listed.environment.path);
  }
}

async function backUp(listed: ListedEnvironment, statuses: VerifyStatusStore, log: vscode.LogOutputChannel, options: BackupRunOptions): Promise<BackupRun> {
  const { environment } = listed;
  if (listed.problems.length) {
    throw new TracBackupError('NOT_AN_ENVIRONMENT', `${environment.path} cannot be backed up: ${listed.problems.join(' ')}`, environment.path);
  }
  // Its folder's setting, else where its backups are (a renamed environment's are beside it under its old name).
  const folder = settings.backupFolder(environment.path) ?? (await environmentBackups(environment.path)).folder;
  const destination = await reserveDestination(folder, newBackupName(environment.path));
  try {
    const base = settings.incremental() ? await newestVerifiedBackup(listed, statuses) : undefined;
    const linkDest = base?.backup.path;
    log.info(`Backing up ${environment.path} to ${destination}${linkDest ? `, linking unchanged files to ${linkDest}` : ''}`);
    const result = await hotcopy(environment.path, destination, {
      onSwept: (swept) => logSwept(log, [swept]),
      signal: options.signal,
      onProgress: options.onProgress,
      linkDest,
      linkDestVerifiedAt: base?.verifiedAt,
      // Another window may back the environment up in the same second: the next name, not an error.
      nextFreeName: true,
    });
    if (result.linkFallback) {
      log.warn(`Could not hard-link into ${destination} (${result.linkFallback}): copied those files instead.`);
    }
    if (result.linkDestDamaged) {
      log.error(`Backing up to ${destination}: ${result.linkDestDamaged}. Verify it, and delete it if it fails.`);
    }
    if (!settings.verifyAfterBackup() || options.signal.aborted) {
      return { result };
    }
    options.onVerifying?.();
    try {
      const verified = await verifyBackup(result.dest, { signal: options.signal, onProgress: options.onProgress });
      await statuses.set(verified.backup, verified);
      return { result, verified };
    } catch (error) {
      if (isCancelled(error)) {
        return { result }; // cancelling the check leaves a finished backup, just not verified yet
      }
      throw error;
    }
  } finally {
    destinationsInUse.delete(destination);
  }
}

/**
 * The newest backup of this environment (made on this machine, by this tool) that passed
 * verification since it was made, and when that verification began: what a new backup links from.
 */
async function newestVerifiedBackup(
  listed: ListedEnvironment,
  statuses: VerifyStatusStore,
): Promise<{ backup: BackupInfo; verifiedAt: string } | undefined> {
  await statuses.ready;
  for (const backup of listed.backups) {
    const record = backup.kind === 'hotcopy' && !backup.problem && !backup.name.includes(ASIDE_MARK) ? statuses.passed(backup) : undefined;
    if (record && (await isBackupOf(backup, listed.environment.path))) {
      return { backup, verifiedAt: record.verifiedAt };
    }
  }
  return undefined;
}

async function reserveDestination(folder: string, name: string): Promise<string> {
  let destination: string;
  do {
    destination = await chooseFreeBackupPath(folder, name, destinationsInUse);
  } while (destinationsInUse.has(destination)); // another backup took it while we looked
  destinationsInUse.add(destination);
  return destination;
}
