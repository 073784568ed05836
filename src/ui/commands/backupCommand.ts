import * as path from 'node:path';
import * as vscode from 'vscode';
import { chooseFreeBackupPath, defaultBackupFolder, newBackupName } from '../../core/backupCatalog';
import { TracBackupError, isCancelled } from '../../core/errors';
import { formatBytes, formatDuration } from '../../core/format';
import { HotcopyResult, hotcopy } from '../../core/hotcopy';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry, ListedEnvironment } from '../environmentRegistry';
import { pickEnvironment } from '../pickEnvironment';
import { abortSignalFor, notificationProgress } from '../progressReporter';
import { settings } from '../settings';
import { VerifyStatusStore } from '../verifyStatus';
import { recordVerification, verifyWithProgress } from './verifyCommand';
import { VerifyResult } from '../../core/verify';

const REVEAL = 'Reveal in File Explorer';

/** Destinations of the backups under way, so that two started in one second get two names. */
const destinationsInUse = new Set<string>();

/** "Trac: Back Up Environment": a hot backup into the backup folder, with progress and cancel. */
export function registerBackupCommand(
  registry: EnvironmentRegistry,
  statuses: VerifyStatusStore,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  return registerCommand('tracBackup.environment.backup', log, async (node?: unknown) => {
    const listed = await pickEnvironment(registry, node, 'Which Trac environment do you want to back up?');
    if (!listed) {
      return undefined;
    }
    if (listed.problems.length) {
      throw new TracBackupError(
        'NOT_AN_ENVIRONMENT',
        `${listed.environment.path} cannot be backed up: ${listed.problems.join(' ')}`,
        listed.environment.path,
      );
    }
    const folder = settings.backupFolder() ?? defaultBackupFolder(listed.environment.path);
    const destination = await reserveDestination(folder, newBackupName(listed.environment.path));
    let result: HotcopyResult;
    let verified: VerifyResult | undefined;
    try {
      log.info(`Backing up ${listed.environment.path} to ${destination}`);
      ({ result, verified } = await backUpWithProgress(listed, destination));
    } finally {
      destinationsInUse.delete(destination);
    }
    if (verified) {
      await statuses.set(verified.backup, verified);
      if (!verified.ok) {
        await registry.refresh();
        await recordVerification(statuses, log, verified);
        return result;
      }
    }

    const summary =
      `Backed up ${listed.environment.name}: ${formatBytes(result.bytes)} in ${result.files} files, ` +
      `${formatDuration(result.durationMs)} (Trac's writers held for ${formatDuration(result.lockMs)}).`;
    log.info(`${summary} → ${result.dest}`);
    await registry.refresh();
    const checked = verified ? ' Verified.' : '';
    void vscode.window.showInformationMessage(`${summary} Saved as ${path.basename(result.dest)}.${checked}`, REVEAL).then((choice) => {
      if (choice === REVEAL) {
        void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.dest));
      }
    });
    return result;
  });
}

async function reserveDestination(folder: string, name: string): Promise<string> {
  let destination: string;
  do {
    destination = await chooseFreeBackupPath(folder, name, destinationsInUse);
  } while (destinationsInUse.has(destination)); // another command took it while we looked
  destinationsInUse.add(destination);
  return destination;
}

/** The backup, then (with tracBackup.verifyAfterBackup) its verification, in one notification. */
async function backUpWithProgress(
  listed: ListedEnvironment,
  destination: string,
): Promise<{ result: HotcopyResult; verified?: VerifyResult }> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Backing up ${listed.environment.name}`, cancellable: true },
    async (progress, token) => {
      const abort = abortSignalFor(token);
      let result: HotcopyResult;
      try {
        result = await hotcopy(listed.environment.path, destination, {
          signal: abort.signal,
          onProgress: notificationProgress(progress),
        });
      } finally {
        abort.dispose();
      }
      if (!settings.verifyAfterBackup() || token.isCancellationRequested) {
        return { result };
      }
      // Cancelling the check leaves a finished backup, just not verified yet.
      const verified = await verifyWithProgress(result.dest, progress, token).catch((error: unknown) => {
        if (isCancelled(error)) {
          return undefined;
        }
        throw error;
      });
      return { result, verified };
    },
  );
}
