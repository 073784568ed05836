import * as vscode from 'vscode';
import { formatBytes, hasRetentionRule, localDateTime, plural, pruneBackups, PruneResult } from '../../core';
import { explainBackupFolderError } from '../backupFolderSetting';
import { backupsInUse } from '../backupsInUse';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { logSwept } from '../leftoverSweep';
import { pickEnvironment } from '../pickEnvironment';
import { STATUS_MESSAGE_MS, withViewProgress } from '../progressReporter';
import { OPEN_RETENTION_SETTING, settings } from '../settings';

const SHOWN_PER_LIST = 12;

/** "Trac: Prune Backups…": shows exactly which backups go and which stay, deletes after confirmation. */
export function registerPruneCommand(registry: EnvironmentRegistry, log: vscode.LogOutputChannel): vscode.Disposable {
  return registerCommand('tracBackup.backup.prune', log, async (node?: unknown) => {
    const listed = await pickEnvironment(registry, node, 'Prune the backups of which Trac environment?');
    if (!listed) {
      return undefined;
    }
    const retention = settings.retention(listed.environment.path);
    if (retention.invalid !== undefined) {
      // The schedule's warning, word for word: nothing is pruned by a policy that is not one.
      log.error(`Prune Backups… refused: ${retention.invalid}`);
      const choice = await vscode.window.showErrorMessage(retention.invalid, OPEN_RETENTION_SETTING);
      if (choice === OPEN_RETENTION_SETTING) {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'tracBackup.retention');
      }
      return undefined;
    }
    const { policy } = retention;
    if (!hasRetentionRule(policy)) {
      const choice = await vscode.window.showInformationMessage(
        'No retention rule is set, so every backup is kept. Set keepLast, keepDaily, keepWeekly or keepMonthly in the tracBackup.retention setting.',
        OPEN_RETENTION_SETTING,
      );
      if (choice === OPEN_RETENTION_SETTING) {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'tracBackup.retention');
      }
      return undefined;
    }
    const options = { environment: listed.environment.path };
    const planned = await pruneBackups(listed.backupFolder, policy, { ...options, dryRun: true }).catch(async (error: unknown) => {
      throw await explainBackupFolderError(error, listed.environment.path);
    });
    const plan = keepWhatIsInUse(planned);
    if (plan.remove.length === 0) {
      const busy = plan.keep.some((entry) => entry.reasons.some((reason) => reason.startsWith(IN_USE)));
      void vscode.window.showInformationMessage(
        busy
          ? `Nothing to prune now: the backups of ${listed.environment.name} that the retention rules remove are in use in this window.`
          : `Every backup of ${listed.environment.name} is kept by the retention rules: nothing to prune.`,
      );
      return plan;
    }
    // Deleted for good, as Delete Backup does (deleteBackup: no trash, which on another disk is a copy then a delete).
    const confirm: vscode.MessageItem = { title: `Delete ${plural(plan.remove.length, 'Backup')}` };
    const answer = await vscode.window.showWarningMessage(
      `Permanently delete ${plan.remove.length} of the ${plan.remove.length + plan.keep.length} backups of ${listed.environment.name}?`,
      { modal: true, detail: describePlan(plan) },
      confirm,
      { title: 'Cancel', isCloseAffordance: true },
    );
    if (answer !== confirm) {
      return undefined;
    }
    // What began to be verified or exported while the prompt was open stays too.
    const confirmed = plan.remove.map((entry) => entry.backup.path).filter((backup) => !backupsInUse.whatIsDone(backup));
    const result = await backupsInUse.during(confirmed, 'deleted', () =>
      withViewProgress(`Deleting ${plural(confirmed.length, 'backup')} of ${listed.environment.name}`, () =>
        pruneBackups(listed.backupFolder, policy, { ...options, confirmed }),
      ),
    );
    await registry.refresh();
    logSwept(log, result.swept);
    log.info(`Pruned ${listed.backupFolder}: removed ${result.removed.join(', ') || 'nothing'}`);
    if (result.failed.length) {
      throw new Error(`Could not delete ${result.failed.map((entry) => `${entry.path} (${entry.error})`).join('; ')}`);
    }
    // The tree shows the result: a passing word in the status bar, no notification to dismiss.
    vscode.window.setStatusBarMessage(
      `$(check) Deleted ${plural(result.removed.length, 'backup')} of ${listed.environment.name}; ${result.keep.length} kept`,
      STATUS_MESSAGE_MS,
    );
    return result;
  });
}

const IN_USE = 'in use in this window';

/** The plan with the backups this window is verifying or exporting moved to those that stay, saying why. */
function keepWhatIsInUse(plan: PruneResult): PruneResult {
  const inUse = plan.remove.filter((entry) => backupsInUse.whatIsDone(entry.backup.path));
  if (!inUse.length) {
    return plan;
  }
  const kept = inUse.map((entry) => ({ ...entry, reasons: [`${IN_USE} (${backupsInUse.whatIsDone(entry.backup.path)}): left for now`] }));
  const newestFirst = (a: PruneResult['keep'][number], b: PruneResult['keep'][number]) =>
    b.backup.createdAt.getTime() - a.backup.createdAt.getTime();
  return { ...plan, keep: [...plan.keep, ...kept].sort(newestFirst), remove: plan.remove.filter((entry) => !inUse.includes(entry)) };
}

/** Both lists, each backup with its date, size and reasons, as the prompt shows them. */
export function describePlan(plan: PruneResult): string {
  // By the date the tree's rows show, the folder's name after it.
  const line = (entry: PruneResult['keep'][number]) =>
    `  ${localDateTime(entry.backup.createdAt)} · ${formatBytes(entry.backup.bytes)} (${entry.backup.name}): ${entry.reasons.join('; ')}`;
  const list = (entries: PruneResult['keep']) => [
    ...entries.slice(0, SHOWN_PER_LIST).map(line),
    ...(entries.length > SHOWN_PER_LIST ? [`  … and ${entries.length - SHOWN_PER_LIST} more`] : []),
  ];
  return [
    `Will be deleted permanently (${plan.remove.length}), not moved to the trash:`,
    ...list(plan.remove),
    '',
    `Will stay (${plan.keep.length}):`,
    ...list(plan.keep),
  ].join('\n');
}
