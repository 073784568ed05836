import * as path from 'node:path';
import * as vscode from 'vscode';
import { exportArchive, formatBytes, formatDuration, restoreFromArchive } from '../../core';
import { backupsInUse } from '../backupsInUse';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { logSwept } from '../leftoverSweep';
import { pickBackup } from '../pickBackup';
import { pickEnvironment } from '../pickEnvironment';
import { PhaseProgress, notificationProgress, withNotificationProgress } from '../progressReporter';
import { RESTORE_WEIGHTS, askToRestore, reportRestored } from './restoreCommand';

const ARCHIVE_FILTERS = { 'Gzipped tar archives': ['tar.gz', 'tgz'] };

/** "Export as Archive…" on a backup row and "Restore from Archive…" for an environment. */
export function registerArchiveCommands(registry: EnvironmentRegistry, log: vscode.LogOutputChannel): vscode.Disposable[] {
  return [
    registerCommand('tracBackup.backup.exportArchive', log, async (node?: unknown, target?: vscode.Uri) => {
      const chosen = await pickBackup(registry, node, 'Export');
      if (!chosen) {
        return undefined;
      }
      const file =
        target ??
        (await vscode.window.showSaveDialog({
          defaultUri: vscode.Uri.file(`${chosen.backup}.tar.gz`),
          filters: ARCHIVE_FILTERS,
          saveLabel: 'Export',
          title: `Export ${path.basename(chosen.backup)} as a .tar.gz archive`,
        }));
      if (!file) {
        return undefined;
      }
      backupsInUse.refuseWhileDeleted(chosen.backup, 'export');
      // Marked in use, so that Delete and Prune in this window leave it alone meanwhile.
      const result = await backupsInUse.during(chosen.backup, 'exported', () =>
        withNotificationProgress(`Exporting ${path.basename(chosen.backup)}`, (signal, reporterFor) =>
          // The save dialog asked before a file there is replaced.
          exportArchive(chosen.backup, file.fsPath, {
            signal,
            onProgress: reporterFor(),
            onSwept: (swept) => logSwept(log, [swept]),
            replace: true,
          }),
        ),
      );
      const summary = `Exported ${path.basename(chosen.backup)} to ${result.archive}: ${formatBytes(result.archiveBytes)} (${formatDuration(result.durationMs)}).`;
      log.info(summary);
      void vscode.window.showInformationMessage(summary);
      return result;
    }),

    registerCommand('tracBackup.environment.restoreArchive', log, async (node?: unknown, archive?: vscode.Uri) => {
      const listed = await pickEnvironment(registry, node, 'Restore which Trac environment from an archive?');
      if (!listed) {
        return undefined;
      }
      const file =
        archive ??
        (
          await vscode.window.showOpenDialog({
            canSelectFiles: true,
            canSelectFolders: false,
            filters: ARCHIVE_FILTERS,
            openLabel: 'Restore from This Archive',
            title: `Choose a .tar.gz backup of ${listed.environment.name}`,
            defaultUri: vscode.Uri.file(listed.backupFolder),
          })
        )?.[0];
      if (!file) {
        return undefined;
      }
      const environment = listed.environment;
      const archiveFile = file.fsPath;
      const controller = new AbortController();
      const unpacking = new ProgressNotification(`Unpacking ${path.basename(archiveFile)}`, controller);
      let restoring: ProgressNotification | undefined;
      try {
        // One core operation: unpacked beside the environment, checked, the prompt, then moved into place.
        const result = await registry.withoutWatches(() =>
          restoreFromArchive(archiveFile, environment.path, {
            confirmAlways: true,
            confirm: async (plan) => {
              unpacking.done();
              if (!(await askToRestore(plan, environment.name, plan.live))) {
                log.info(`Restore of ${environment.path} from ${archiveFile}: cancelled at the prompt`);
                return false;
              }
              log.info(
                `Restoring ${environment.path} from ${archiveFile}${plan.live?.running ? ' although Trac seems to be running' : ''}`,
              );
              restoring = new ProgressNotification(`Restoring ${environment.name}`, controller, RESTORE_WEIGHTS);
              return true;
            },
            signal: controller.signal,
            onProgress: (event) => (event.phase === 'extract' ? unpacking : restoring)?.report(event),
            onSwept: (folder) => log.info(`Removed ${folder}, an unpacked archive left by a restore that was stopped.`),
          }),
        );
        restoring?.done();
        await reportRestored(registry, log, environment.name, result);
        return result;
      } finally {
        unpacking.done();
        restoring?.done();
      }
    }),
  ];
}

/** A cancellable progress notification opened now and closed by done(); Cancel aborts `controller`. */
class ProgressNotification {
  private finish!: () => void;
  private reporter?: (event: PhaseProgress) => void;

  constructor(title: string, controller: AbortController, phaseWeights?: Record<string, number>) {
    const finished = new Promise<void>((resolve) => (this.finish = resolve));
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        this.reporter = notificationProgress(progress, phaseWeights);
        token.onCancellationRequested(() => controller.abort());
        await finished;
      },
    );
  }

  report(event: PhaseProgress): void {
    this.reporter?.(event);
  }

  done(): void {
    this.finish();
  }
}
