import * as vscode from 'vscode';
import { TracBackupApi, createApi } from './api';
import { overrideScheduleInterval, setLeaseHolderName } from './core';
import { BackupStatusBar } from './ui/backupStatusBar';
import { registerArchiveCommands } from './ui/commands/archiveCommands';
import { registerPruneCommand } from './ui/commands/pruneCommand';
import { ScheduledBackups } from './ui/scheduledBackups';
import { registerBackupCommand } from './ui/commands/backupCommand';
import { registerDeleteCommand } from './ui/commands/deleteCommand';
import { registerRestoreCommand } from './ui/commands/restoreCommand';
import { registerVerifyCommand } from './ui/commands/verifyCommand';
import { registerEnvironmentCommands } from './ui/commands/environmentCommands';
import { EnvironmentRegistry } from './ui/environmentRegistry';
import { EnvironmentTreeProvider, VIEW_ID } from './ui/environmentTree';
import { startupSweep } from './ui/leftoverSweep';
import { VerifyStatusStore } from './ui/verifyStatus';
import { OffsiteAccess } from './ui/offsiteAccess';
import { OffsiteSnapshotRows } from './ui/offsiteTree';
import { registerOffsiteCommands, sendAfterScheduledBackup } from './ui/commands/offsiteCommands';

export function activate(context: vscode.ExtensionContext): TracBackupApi {
  // What other windows and the CLI call this window when it backs up or restores an environment.
  setLeaseHolderName(`in another VS Code window${vscode.workspace.name ? ` (${vscode.workspace.name})` : ''}`);
  const log = vscode.window.createOutputChannel('Trac Backup', { log: true });
  const registry = new EnvironmentRegistry(context.workspaceState, log);
  const statuses = new VerifyStatusStore(log);
  const offsite = new OffsiteAccess(context.secrets, log);
  const offsiteRows = new OffsiteSnapshotRows(offsite, log);
  const tree = new EnvironmentTreeProvider(registry, statuses, offsiteRows);
  const view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: tree, showCollapseAll: true, canSelectMany: true });
  context.subscriptions.push(
    log,
    registry,
    statuses,
    tree,
    view,
    ...registerEnvironmentCommands(registry, log),
    registerBackupCommand(registry, statuses, log),
    registerRestoreCommand(registry, log),
    registerVerifyCommand(registry, statuses, log),
    registerDeleteCommand(registry, log),
    ...registerArchiveCommands(registry, log),
    offsiteRows,
    ...registerOffsiteCommands(registry, statuses, offsite, offsiteRows, log),
  );

  const testInterval = Number(process.env.TRAC_BACKUP_SCHEDULE_INTERVAL_MS);
  if (testInterval > 0) {
    overrideScheduleInterval(testInterval); // end-to-end tests of the schedule
  }
  const scheduled: ScheduledBackups = new ScheduledBackups(
    registry,
    statuses,
    log,
    () => statusBar,
    (listed, backup, signal) => sendAfterScheduledBackup(offsite, offsiteRows, log, listed, backup, signal),
  );
  const statusBar = new BackupStatusBar(registry, (environment) => scheduled.scheduler.checkedUnchangedAt(environment));
  context.subscriptions.push(scheduled, statusBar, registerPruneCommand(registry, log));

  log.info(`Trac Backup ${(context.extension.packageJSON as { version: string }).version} activated in VS Code ${vscode.version}`);
  // What reloads and crashes stopped midway (a partial backup, archive, restore copy) is swept once the tree is listed.
  const sweepLeftovers = startupSweep(registry, log);
  const ready = registry.refresh().then(() => {
    if (vscode.workspace.isTrusted) {
      void scheduled.start();
      sweepLeftovers();
    }
  });
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void scheduled.start();
      sweepLeftovers();
    }),
  );
  return createApi(registry, statuses, ready, () => statusBar.state);
}

export function deactivate(): void {}
