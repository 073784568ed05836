import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { exportArchive, formatBytes, formatDuration, restoreFromArchive } from '../../core';
import { backupsInUse } from '../backupsInUse';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { logSwept } from '../leftoverSweep';
import { showWithPathButtons } from '../pathActions';
import { pickBackup } from '../pickBackup';
import { pickEnvironment } from '../pickEnvironment';
import { PhaseProgress, QuietProgress, withNotificationProgress } from '../progressReporter';
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
      const picked =
        target ??
        (await vscode.window.showSaveDialog({
          defaultUri: vscode.Uri.file(path.join(exportFolderFor(chosen.listed.environment.path), `${path.basename(chosen.backup)}.tar.gz`)),
          filters: ARCHIVE_FILTERS,
          saveLabel: 'Export',
          title: `Export ${path.basename(chosen.backup)} as a .tar.gz archive`,
        }));
      if (!picked) {
        return undefined;
      }
      const file = vscode.Uri.file(withoutDoubledExtension(picked.fsPath));
      // The dialog asked before replacing the name it was given, not the one it is turned into.
      if (file.fsPath !== picked.fsPath && !(await mayReplace(file.fsPath))) {
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
      if (result.permissionsWarning) {
        log.warn(result.permissionsWarning);
      }
      void showWithPathButtons(result.permissionsWarning ? `${summary} ${result.permissionsWarning}` : summary, result.archive);
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
      // Like every job: in the view at once, a notification only for a part that lasts a second.
      const unpacking = new QuietProgress(`Unpacking ${path.basename(archiveFile)}`, controller);
      const reportUnpacking = unpacking.reporterFor();
      let restoring: { progress: QuietProgress; report: (event: PhaseProgress) => void } | undefined;
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
              const progress = new QuietProgress(`Restoring ${environment.name}`, controller);
              restoring = { progress, report: progress.reporterFor(RESTORE_WEIGHTS) };
              return true;
            },
            signal: controller.signal,
            onProgress: (event) => (event.phase === 'extract' ? reportUnpacking(event) : restoring?.report(event)),
            onSwept: (folder) => log.info(`Removed ${folder}, an unpacked archive left by a restore that was stopped.`),
          }),
        );
        restoring?.progress.done();
        await reportRestored(registry, log, environment.name, result);
        return result;
      } finally {
        unpacking.done();
        restoring?.progress.done();
      }
    }),
  ];
}

/**
 * Where an archive is proposed: the environment's workspace folder (in code-server its Explorer
 * can download it), else the first one, else the home folder; never the backup folder itself,
 * as an archive is meant to leave the machine.
 */
function exportFolderFor(environment: string): string {
  const folder =
    vscode.workspace.getWorkspaceFolder(vscode.Uri.file(environment)) ??
    vscode.workspace.workspaceFolders?.find((candidate) => candidate.uri.scheme === 'file');
  return folder?.uri.fsPath ?? os.homedir();
}

/** True when nothing is at `file`, or the user says to replace it. */
async function mayReplace(file: string): Promise<boolean> {
  if (!existsSync(file)) {
    return true;
  }
  const replace: vscode.MessageItem = { title: 'Replace' };
  const answer = await vscode.window.showWarningMessage(
    `${path.basename(file)} already exists. Replace it?`,
    { modal: true, detail: file },
    replace,
    { title: 'Cancel', isCloseAffordance: true },
  );
  return answer === replace;
}

/**
 * The simple file dialog (code-server's, and VS Code's with files.simpleDialog.enable) adds the
 * filter's extension to a proposed name that already ends in it: `x.tar.gz.tar.gz` is `x.tar.gz`.
 */
export function withoutDoubledExtension(file: string): string {
  return file.replace(/(\.tar\.gz|\.tgz)\.(tar\.gz|tgz)$/i, '$1');
}
