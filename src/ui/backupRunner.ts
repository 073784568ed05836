import * as vscode from 'vscode';
import { backUpEnvironment, environmentBackups, TracBackupError } from '../core';
import type { EnvironmentBackup, HotcopyProgress, VerifyProgress } from '../core';
import { explainBackupFolderError } from './backupFolderSetting';
import { ListedEnvironment } from './environmentRegistry';
import { logSwept } from './leftoverSweep';
import { settings } from './settings';
import { VerifyStatusStore } from './verifyStatus';

export type BackupRun = EnvironmentBackup;

export interface BackupRunOptions {
  signal: AbortSignal;
  onProgress: (event: HotcopyProgress | VerifyProgress) => void;
  /** Told once the backup is made and its check begins. */
  onVerifying?: () => void;
}

/**
 * One backup as the settings say (the core's backUpEnvironment: the same as the CLI's): into the
 * environment's backup folder, incremental from the newest verified backup (tracBackup.incremental;
 * the verification may come from the CLI: the store is shared), then verified
 * (tracBackup.verifyAfterBackup). Shared by the command and the schedule; says in the log what it did.
 */
export async function runBackup(
  listed: ListedEnvironment,
  statuses: VerifyStatusStore,
  log: vscode.LogOutputChannel,
  options: BackupRunOptions,
): Promise<BackupRun> {
  const environment = listed.environment.path;
  if (listed.problems.length) {
    throw new TracBackupError('NOT_AN_ENVIRONMENT', `${environment} cannot be backed up: ${listed.problems.join(' ')}`, environment);
  }
  try {
    // Its folder's setting, else where its backups are (a renamed environment's are beside it under its old name).
    const folder = settings.backupFolder(environment) ?? (await environmentBackups(environment)).folder;
    log.info(`Backing up ${environment} into ${folder}`);
    const run = await backUpEnvironment(environment, {
      folder,
      incremental: settings.incremental(),
      verifyAfter: settings.verifyAfterBackup(),
      signal: options.signal,
      onProgress: options.onProgress,
      onVerifying: options.onVerifying,
      onSwept: (swept) => logSwept(log, [swept]),
    });
    const { result, base } = run;
    log.info(`Backed up ${environment} to ${result.dest}${base.linkDest ? `, linking unchanged files to ${base.linkDest}` : ''}`);
    if (base.note) {
      log.info(base.note);
    }
    if (result.lockingWarning) {
      log.warn(result.lockingWarning);
    }
    if (result.linkFallback) {
      log.warn(`Could not hard-link into ${result.dest} (${result.linkFallback}): copied those files instead.`);
    }
    if (result.linkDestDamaged) {
      log.error(`Backing up to ${result.dest}: ${result.linkDestDamaged}. Verify it, and delete it if it fails.`);
    }
    if (run.verified) {
      await statuses.refresh(); // the core recorded the result in the store the rows read
    }
    return run;
  } catch (error) {
    // A tracBackup.backupFolder that names a file: the fix is in the setting, which the error names.
    throw await explainBackupFolderError(error, environment);
  }
}
