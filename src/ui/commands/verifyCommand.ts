import * as path from 'node:path';
import * as vscode from 'vscode';
import { VerifyResult, verifyBackup } from '../../core/verify/verify';
import { backupsInUse } from '../backupsInUse';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { pickBackup } from '../pickBackup';
import { abortSignalFor, notificationProgress } from '../progressReporter';
import { VerifyStatusStore } from '../verifyStatus';

/** The database check reads every page once; the files phase reads every byte. */
export const VERIFY_WEIGHTS = { scan: 0, database: 1, files: 3 };

/** "Trac: Verify Backup": the full check, with progress; the row keeps the result. */
export function registerVerifyCommand(
  registry: EnvironmentRegistry,
  statuses: VerifyStatusStore,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  return registerCommand('tracBackup.backup.verify', log, async (node?: unknown) => {
    const chosen = await pickBackup(registry, node, 'Verify');
    if (!chosen) {
      return undefined;
    }
    backupsInUse.refuseWhileDeleted(chosen.backup, 'verify');
    const result = await backupsInUse.during(chosen.backup, 'verified', () =>
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Verifying ${path.basename(chosen.backup)}`, cancellable: true },
        (progress, token) => verifyWithProgress(chosen.backup, progress, token),
      ),
    );
    await recordVerification(statuses, log, result);
    return result;
  });
}

export async function verifyWithProgress(
  backup: string,
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  token: vscode.CancellationToken,
): Promise<VerifyResult> {
  const abort = abortSignalFor(token);
  try {
    return await verifyBackup(backup, { signal: abort.signal, onProgress: notificationProgress(progress, VERIFY_WEIGHTS) });
  } finally {
    abort.dispose();
  }
}

/**
 * Stores the result for the tree and tells the user: quietly when it passed, loudly when not. A
 * backup deleted or moved while it was checked (by another window, the CLI, a person) has no
 * result to store: that is what is said.
 */
export async function recordVerification(statuses: VerifyStatusStore, log: vscode.LogOutputChannel, result: VerifyResult): Promise<void> {
  const name = path.basename(result.backup);
  if (result.vanished) {
    log.warn(`Verification of ${result.backup} stopped: it ${result.problems[0].problem}.`);
    void vscode.window.showWarningMessage(`Backup ${name} ${result.problems[0].problem}: it was not verified.`);
    return;
  }
  await statuses.set(result.backup, result);
  if (result.ok) {
    const notes = result.notes.length ? ` (${result.notes.join(' ')})` : '';
    log.info(`Verified ${result.backup}: ${result.checkedFiles} files, database ${result.database.check}: ok${notes}`);
    void vscode.window.showInformationMessage(
      `Backup ${name} verified: ${result.checkedFiles} files match, the database passes ${result.database.check}.`,
    );
    return;
  }
  log.error(`Verification of ${result.backup} failed:\n${result.problems.map((problem) => `  ${problem.path}: ${problem.problem}`).join('\n')}`);
  const first = result.problems[0];
  void vscode.window
    .showErrorMessage(
      `Backup ${name} failed verification: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}, ` +
        `first ${first.path}: ${first.problem}`,
      'Open Log',
    )
    .then((choice) => {
      if (choice === 'Open Log') {
        log.show();
      }
    });
}
