import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  checkRepository,
  formatBytes,
  formatDuration,
  hasRetentionRule,
  listOffsiteSnapshots,
  localDateTime,
  OffsitePrunePlan,
  OffsiteSnapshot,
  planOffsitePrune,
  pruneOffsite,
  restoreFromOffsite,
  sendToOffsite,
  SendToOffsiteResult,
  shownLocation,
} from '../../core';
import { backupsInUse } from '../backupsInUse';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry, ListedEnvironment } from '../environmentRegistry';
import { logSwept } from '../leftoverSweep';
import { OffsiteAccess, offsiteSettings } from '../offsiteAccess';
import { OffsiteGroupNode, OffsiteMessageNode, OffsiteSnapshotNode, OffsiteSnapshotRows } from '../offsiteTree';
import { pickBackup } from '../pickBackup';
import { pickEnvironment } from '../pickEnvironment';
import { withNotificationProgress } from '../progressReporter';
import { OPEN_RETENTION_SETTING, settings } from '../settings';
import { VerifyStatusStore } from '../verifyStatus';
import { RESTORE_WEIGHTS, askToRestore, reportRestored } from './restoreCommand';

const SHOWN_PER_LIST = 12;

/**
 * Send to Offsite Repository (a backup row), Restore from Offsite… (an environment or a snapshot
 * row), Prune Offsite… and Check Offsite Repository, and the row that asks for the password.
 */
export function registerOffsiteCommands(
  registry: EnvironmentRegistry,
  statuses: VerifyStatusStore,
  access: OffsiteAccess,
  rows: OffsiteSnapshotRows,
  log: vscode.LogOutputChannel,
): vscode.Disposable[] {
  return [
    registerCommand('tracBackup.backup.sendOffsite', log, async (node?: unknown) => {
      const chosen = await pickBackup(registry, node, 'Send');
      if (!chosen) {
        return undefined;
      }
      const environment = chosen.listed.environment.path;
      const location = access.requireLocation(environment);
      const result = await backupsInUse.during(chosen.backup, 'sent offsite', () =>
        withNotificationProgress(`Sending ${path.basename(chosen.backup)} to ${shownLocation(location)}`, (signal, reporterFor) =>
          access.run(
            location,
            environment,
            (repository, abort) =>
              sendToOffsite(chosen.backup, repository, { signal: abort, onProgress: reporterFor({ files: 1, database: 1, send: 2 }) }),
            signal,
          ),
        ),
      );
      reportSent(log, result);
      await statuses.refresh();
      rows.invalidate(environment);
      void vscode.window.showInformationMessage(sentSummary(result));
      return result;
    }),

    registerCommand('tracBackup.environment.restoreOffsite', log, async (node?: unknown) => {
      const listed =
        node instanceof OffsiteSnapshotNode || node instanceof OffsiteGroupNode
          ? node.listed
          : await pickEnvironment(registry, node, 'Restore which Trac environment from offsite?');
      if (!listed) {
        return undefined;
      }
      const environment = listed.environment;
      const location = access.requireLocation(environment.path);
      const snapshot = node instanceof OffsiteSnapshotNode ? node.snapshot : await pickSnapshot(access, location, listed);
      if (!snapshot) {
        return undefined;
      }
      log.info(`Restoring ${environment.path} from the offsite snapshot ${snapshot.shortId} of ${shownLocation(location)}`);
      const result = await withNotificationProgress(`Restoring ${environment.name} from offsite`, (signal, reporterFor) =>
        registry.withoutWatches(() =>
          access.run(
            location,
            environment.path,
            (repository, abort) =>
              restoreFromOffsite(repository, snapshot.id, environment.path, {
                confirmAlways: true,
                confirm: async (plan) => {
                  if (!(await askToRestore(plan, environment.name, plan.live))) {
                    log.info(`Restore of ${environment.path} from offsite: cancelled at the prompt`);
                    return false;
                  }
                  return true;
                },
                signal: abort,
                onProgress: reporterFor(RESTORE_WEIGHTS),
                onSwept: (swept) => logSwept(log, [swept]),
              }),
            signal,
          ),
        ),
      );
      rows.invalidate(environment.path);
      await reportRestored(registry, log, environment.name, result);
      return result;
    }),

    registerCommand('tracBackup.environment.pruneOffsite', log, async (node?: unknown) => {
      const listed =
        node instanceof OffsiteGroupNode
          ? node.listed
          : await pickEnvironment(registry, node, 'Prune the offsite snapshots of which Trac environment?');
      if (!listed) {
        return undefined;
      }
      const environment = listed.environment;
      const location = access.requireLocation(environment.path);
      const retention = settings.retention(environment.path);
      if (retention.invalid !== undefined || !hasRetentionRule(retention.policy)) {
        const message =
          retention.invalid ??
          'No retention rule is set, so every snapshot is kept. Set keepLast, keepDaily, keepWeekly or keepMonthly in the tracBackup.retention setting.';
        log.warn(`Prune Offsite… refused: ${message}`);
        const choice = await vscode.window.showErrorMessage(message, OPEN_RETENTION_SETTING);
        if (choice === OPEN_RETENTION_SETTING) {
          await vscode.commands.executeCommand('workbench.action.openSettings', 'tracBackup.retention');
        }
        return undefined;
      }
      const plan = await access.run(location, environment.path, (repository) =>
        planOffsitePrune(repository, retention.policy, { environment: environment.path }),
      );
      const [own] = plan.environments;
      if (!own || own.remove.length === 0) {
        void vscode.window.showInformationMessage(
          `Every offsite snapshot of ${environment.name} is kept by the retention rules: nothing to prune.`,
        );
        return plan;
      }
      const confirm: vscode.MessageItem = { title: 'Forget Them' };
      const answer = await vscode.window.showWarningMessage(
        `Forget ${own.remove.length} of the ${own.remove.length + own.keep.length} offsite snapshots of ${environment.name}?`,
        { modal: true, detail: describeOffsitePlan(plan) },
        confirm,
        { title: 'Cancel', isCloseAffordance: true },
      );
      if (answer !== confirm) {
        return undefined;
      }
      const result = await withNotificationProgress(`Pruning the offsite snapshots of ${environment.name}`, (signal) =>
        access.run(location, environment.path, (repository, abort) => pruneOffsite(repository, plan, { signal: abort }), signal),
      );
      log.info(
        `Forgot ${result.forgotten.join(', ')} in ${result.repository} and pruned their data (${formatDuration(result.durationMs)})`,
      );
      rows.invalidate(environment.path);
      void vscode.window.showInformationMessage(
        `Forgot ${result.forgotten.length} offsite snapshots of ${environment.name}; ${own.keep.length} kept.`,
      );
      return result;
    }),

    registerCommand('tracBackup.offsite.check', log, async (node?: unknown) => {
      const environment = node instanceof OffsiteGroupNode ? node.listed.environment.path : undefined;
      const location = access.requireLocation(environment);
      const result = await withNotificationProgress(`Checking ${shownLocation(location)}`, (signal) =>
        access.run(location, environment, (repository, abort) => checkRepository(repository, { signal: abort }), signal),
      );
      log.info(`restic check of ${result.repository}:\n${result.report.join('\n')}`);
      if (result.ok) {
        void vscode.window.showInformationMessage(
          `${result.repository}: restic check found no errors (${formatDuration(result.durationMs)}).`,
        );
      } else {
        void vscode.window
          .showErrorMessage(`${result.repository}: restic check found errors: ${result.problems.slice(0, 3).join('; ')}`, 'Open Log')
          .then((choice) => {
            if (choice) {
              log.show();
            }
          });
      }
      return result;
    }),

    registerCommand('tracBackup.offsite.listSnapshots', log, async (node?: unknown) => {
      const listed =
        node instanceof OffsiteGroupNode || node instanceof OffsiteMessageNode
          ? node.listed
          : await pickEnvironment(registry, node, 'List the offsite snapshots of which Trac environment?');
      if (!listed) {
        return undefined;
      }
      const location = access.requireLocation(listed.environment.path);
      const snapshots = await access.run(location, listed.environment.path, (repository) =>
        listOffsiteSnapshots(repository, { environment: listed.environment.path }),
      );
      rows.invalidate(listed.environment.path);
      return snapshots;
    }),

    registerCommand('tracBackup.offsite.forgetPassword', log, async () => {
      const location = access.requireLocation();
      await access.forgetPassword(location);
      rows.invalidate();
      void vscode.window.showInformationMessage(`Forgot the password of ${shownLocation(location)}: it is asked again when next needed.`);
    }),
  ];
}

/** After a scheduled backup: send it when tracBackup.offsite.repository is set (never asking: without a kept password, says how). */
export async function sendAfterScheduledBackup(
  access: OffsiteAccess,
  rows: OffsiteSnapshotRows,
  log: vscode.LogOutputChannel,
  listed: ListedEnvironment,
  backup: string,
  signal: AbortSignal,
): Promise<void> {
  const environment = listed.environment.path;
  const location = offsiteSettings.repository(environment);
  if (!location) {
    return;
  }
  const repository = await access.repository(location, environment, false);
  if (!repository) {
    const message = `The scheduled backup of ${listed.environment.name} was not sent to ${shownLocation(location)}: its password is not known yet. Run Send to Offsite Repository once to give it.`;
    log.warn(message);
    void vscode.window.showWarningMessage(message);
    return;
  }
  try {
    const result = await backupsInUse.during(backup, 'sent offsite', () => sendToOffsite(backup, repository, { signal }));
    reportSent(log, result);
    rows.invalidate(environment);
  } catch (error) {
    const message = `The scheduled backup ${backup} was made, but sending it to ${shownLocation(location)} failed: ${error instanceof Error ? error.message : String(error)}`;
    log.error(message);
    void vscode.window.showErrorMessage(message);
  }
}

async function pickSnapshot(access: OffsiteAccess, location: string, listed: ListedEnvironment): Promise<OffsiteSnapshot | undefined> {
  const environment = listed.environment.path;
  const snapshots = await access.run(location, environment, (repository) => listOffsiteSnapshots(repository, { environment }));
  if (snapshots.length === 0) {
    void vscode.window.showInformationMessage(`${shownLocation(location)} holds no snapshot of ${listed.environment.name}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    snapshots.map((snapshot) => ({
      label: localDateTime(new Date(snapshot.time)),
      description: [snapshot.bytes === undefined ? undefined : formatBytes(snapshot.bytes), snapshot.shortId, snapshot.backupName]
        .filter(Boolean)
        .join(' · '),
      snapshot,
    })),
    { placeHolder: `Restore ${listed.environment.name} from which offsite snapshot?` },
  );
  return picked?.snapshot;
}

function reportSent(log: vscode.LogOutputChannel, result: SendToOffsiteResult): void {
  log.info(
    `${sentSummary(result)} ${result.filesNew} files new, ${result.filesChanged} changed, ${result.filesUnmodified} unchanged; ` +
      `${result.verifiedNow ? 'verified before sending' : `verified ${result.verifiedAt}`}.`,
  );
}

function sentSummary(result: SendToOffsiteResult): string {
  return (
    `Sent ${path.basename(result.backup)} to ${result.repository} as snapshot ${result.snapshot}: ${formatBytes(result.bytes)}, ` +
    `${formatBytes(result.bytesAdded)} new to the repository (${formatDuration(result.durationMs)}).`
  );
}

/** What goes and what stays, each snapshot with its date, size and reasons, as the prompt shows them. */
export function describeOffsitePlan(plan: OffsitePrunePlan): string {
  const lines: string[] = [];
  for (const environment of plan.environments) {
    const line = (entry: (typeof environment.keep)[number]) =>
      `  ${entry.backup.snapshot.shortId} ${entry.backup.path} — ${entry.backup.createdAt.toLocaleString()}` +
      `${entry.backup.snapshot.bytes === undefined ? '' : ` — ${formatBytes(entry.backup.snapshot.bytes)}`}: ${entry.reasons.join('; ')}`;
    const list = (entries: typeof environment.keep) => [
      ...entries.slice(0, SHOWN_PER_LIST).map(line),
      ...(entries.length > SHOWN_PER_LIST ? [`  … and ${entries.length - SHOWN_PER_LIST} more`] : []),
    ];
    lines.push(
      `Will be forgotten, their data pruned (${environment.remove.length}):`,
      ...list(environment.remove),
      '',
      `Will stay (${environment.keep.length}):`,
      ...list(environment.keep),
    );
  }
  return lines.join('\n');
}
