import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes, formatDuration } from '../../core';
import { BackupRun, runBackup } from '../backupRunner';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { showWithPathButtons } from '../pathActions';
import { pickEnvironment } from '../pickEnvironment';
import { withNotificationProgress } from '../progressReporter';
import { VerifyStatusStore } from '../verifyStatus';
import { VERIFY_WEIGHTS, recordVerification } from './verifyCommand';

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
    const run: BackupRun = await withNotificationProgress(`Backing up ${listed.environment.name}`, (signal, reporterFor) => {
      let onProgress = reporterFor();
      return runBackup(listed, statuses, log, {
        signal,
        onProgress: (event) => onProgress(event),
        onVerifying: () => (onProgress = reporterFor(VERIFY_WEIGHTS)),
      });
    });
    await registry.refresh();
    const { result, verified } = run;
    if (verified && !verified.ok) {
      await recordVerification(statuses, log, verified);
      return result;
    }
    const linked = result.incremental ? `, ${result.linkedFiles} unchanged files linked to the previous backup` : '';
    const summary =
      `Backed up ${listed.environment.name}: ${formatBytes(result.bytes)} in ${result.files} files${linked}, ` +
      `${formatDuration(result.durationMs)} (Trac's writers held for ${formatDuration(result.lockMs)}).`;
    log.info(`${summary} → ${result.dest}`);
    const checked = verified ? ' Verified.' : '';
    void showWithPathButtons(`${summary} Saved as ${path.basename(result.dest)}.${checked}`, result.dest);
    return result;
  });
}
