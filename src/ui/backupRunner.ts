import * as vscode from 'vscode';
import { chooseFreeBackupPath, defaultBackupFolder, newBackupName } from '../core/backupCatalog';
import { TracBackupError, isCancelled } from '../core/errors';
import { HotcopyResult, hotcopy } from '../core/hotcopy';
import { ASIDE_MARK } from '../core/restoreLayout';
import { VerifyResult, verifyBackup } from '../core/verify';
import { ListedEnvironment } from './environmentRegistry';
import { PhaseProgress } from './progressReporter';
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
 * incremental from the newest verified backup (tracBackup.incremental), then verified
 * (tracBackup.verifyAfterBackup). Shared by the command and the schedule.
 */
export async function runBackup(
  listed: ListedEnvironment,
  statuses: VerifyStatusStore,
  log: vscode.LogOutputChannel,
  options: BackupRunOptions,
): Promise<BackupRun> {
  const { environment } = listed;
  if (listed.problems.length) {
    throw new TracBackupError('NOT_AN_ENVIRONMENT', `${environment.path} cannot be backed up: ${listed.problems.join(' ')}`, environment.path);
  }
  const folder = settings.backupFolder() ?? defaultBackupFolder(environment.path);
  const destination = await reserveDestination(folder, newBackupName(environment.path));
  try {
    const linkDest = settings.incremental() ? newestVerifiedBackup(listed, statuses) : undefined;
    log.info(`Backing up ${environment.path} to ${destination}${linkDest ? `, linking unchanged files to ${linkDest}` : ''}`);
    const result = await hotcopy(environment.path, destination, { signal: options.signal, onProgress: options.onProgress, linkDest });
    if (result.linkFallback) {
      log.warn(`Could not hard-link into ${destination} (${result.linkFallback}): copied those files instead.`);
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

/** The newest backup of this environment made by this tool that passed verification. */
function newestVerifiedBackup(listed: ListedEnvironment, statuses: VerifyStatusStore): string | undefined {
  return listed.backups.find(
    (backup) =>
      backup.kind === 'hotcopy' &&
      !backup.problem &&
      !backup.name.includes(ASIDE_MARK) &&
      backup.sourcePath === listed.environment.path &&
      statuses.get(backup.path)?.ok === true,
  )?.path;
}

async function reserveDestination(folder: string, name: string): Promise<string> {
  let destination: string;
  do {
    destination = await chooseFreeBackupPath(folder, name, destinationsInUse);
  } while (destinationsInUse.has(destination)); // another backup took it while we looked
  destinationsInUse.add(destination);
  return destination;
}
