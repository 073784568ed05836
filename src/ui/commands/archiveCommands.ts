import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExportArchiveOptions, exportArchive } from '../../core/archive';
import { withExtractedArchive } from '../../core/archiveExtract';
import { formatBytes, formatDuration } from '../../core/format';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { pickBackup } from '../pickBackup';
import { pickEnvironment } from '../pickEnvironment';
import { abortSignalFor, notificationProgress } from '../progressReporter';
import { restoreWithPrompt } from './restoreCommand';

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
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Exporting ${path.basename(chosen.backup)}`, cancellable: true },
        async (progress, token) => {
          const abort = abortSignalFor(token);
          try {
            return await exportReplacing(chosen.backup, file.fsPath, abort.signal, notificationProgress(progress));
          } finally {
            abort.dispose();
          }
        },
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
      const unpacking = new UnpackingProgress(path.basename(file.fsPath));
      try {
        // Unpacked beside the environment, so that the restore's copy stays on one file system.
        return await withExtractedArchive(
          file.fsPath,
          async (root) => {
            unpacking.done();
            return restoreWithPrompt(registry, log, listed, root, file.fsPath);
          },
          {
            tempParent: path.dirname(listed.environment.path),
            signal: unpacking.signal,
            onProgress: unpacking.report,
            onSwept: (folder) => log.info(`Removed ${folder}, an unpacked archive left by a restore that was stopped.`),
          },
        );
      } finally {
        unpacking.done();
      }
    }),
  ];
}

/**
 * Exports the archive; where the file exists (the save dialog has asked whether to replace it),
 * exports beside it first and renames over it, so the old archive stays until the new is whole.
 */
async function exportReplacing(backup: string, file: string, signal: AbortSignal, onProgress: ExportArchiveOptions['onProgress']) {
  const exists = await fs.lstat(file).then(() => true, () => false);
  if (!exists) {
    return exportArchive(backup, file, { signal, onProgress });
  }
  const fresh = path.join(path.dirname(file), `.${path.basename(file)}.new-${randomBytes(4).toString('hex')}.tar.gz`);
  const result = await exportArchive(backup, fresh, { signal, onProgress });
  await fs.rename(fresh, file);
  return { ...result, archive: file };
}

/** A cancellable notification for the unpacking, closed before the restore prompt shows. */
class UnpackingProgress {
  private readonly controller = new AbortController();
  private finish!: () => void;
  private reporter?: (event: { phase: string; bytesDone: number; bytesTotal: number }) => void;
  readonly signal = this.controller.signal;

  constructor(name: string) {
    const finished = new Promise<void>((resolve) => (this.finish = resolve));
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Unpacking ${name}`, cancellable: true },
      async (progress, token) => {
        this.reporter = notificationProgress(progress);
        token.onCancellationRequested(() => this.controller.abort());
        await finished;
      },
    );
  }

  readonly report = (event: { phase: string; bytesDone: number; bytesTotal: number }): void => this.reporter?.(event);

  done(): void {
    this.finish();
  }
}
