import * as path from 'node:path';
import * as vscode from 'vscode';
import { plural, verifyBackup, VerifyResult } from '../../core';
import { backupsInUse } from '../backupsInUse';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { pickBackup } from '../pickBackup';
import { STATUS_MESSAGE_MS, withNotificationProgress } from '../progressReporter';
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
      withNotificationProgress(`Verifying ${path.basename(chosen.backup)}`, (signal, reporterFor) =>
        verifyBackup(chosen.backup, { signal, onProgress: reporterFor(VERIFY_WEIGHTS) }),
      ),
    );
    await recordVerification(statuses, log, result);
    return result;
  });
}

/**
 * Stores the result for the tree and tells the user: on the row when it passed, in a notification when not. A
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
    // Said once, on the row (its icon and tooltip): a pass needs nothing from the user.
    log.info(`Verified ${result.backup}: ${result.checkedFiles} files, database ${result.database.check}: ok${notes}`);
    vscode.window.setStatusBarMessage(`$(pass) Backup ${name} verified`, STATUS_MESSAGE_MS);
    return;
  }
  log.error(
    `Verification of ${result.backup} failed:\n${result.problems.map((problem) => `  ${problem.path}: ${problem.problem}`).join('\n')}`,
  );
  const first = result.problems[0];
  void vscode.window
    .showErrorMessage(
      `Backup ${name} failed verification: ${plural(result.problems.length, 'problem')}, ` + `first ${first.path}: ${first.problem}`,
      'Open Log',
    )
    .then((choice) => {
      if (choice === 'Open Log') {
        log.show();
      }
    });
}
