import * as vscode from 'vscode';
import { TracBackupApi, createApi } from './api';
import { overrideScheduleInterval, setLeaseHolderName } from './core';
import { BackupStatusBar } from './ui/backupStatusBar';
import { registerArchiveCommands } from './ui/commands/archiveCommands';
import { registerPruneCommand } from './ui/commands/pruneCommand';
import { ScheduledBackups } from './ui/scheduledBackups';
import { settings } from './ui/settings';
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

/** Folders searched for a trac.ini at startup never include these (as discovery skips them). */
const NOT_SEARCHED = '{**/node_modules/**,**/.git/**,**/.hg/**,**/.svn/**}';

export function activate(context: vscode.ExtensionContext): TracBackupApi {
  const activationStarted = performance.now();
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
    ...registerEnvironmentCommands(registry, log, context.extension.id),
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

  // What reloads and crashes stopped midway (a partial backup, archive, restore copy) is swept once the tree is listed.
  const sweepLeftovers = startupSweep(registry, log);
  // Activated at startup in every window (onStartupFinished: environments may come from user
  // settings alone), so nothing is discovered until something needs the list: the view shown,
  // a command, a schedule or configured environments, or a trac.ini in the workspace.
  void registry.firstDiscovery.then(() => {
    if (vscode.workspace.isTrusted) {
      void scheduled.start();
      sweepLeftovers();
    }
  });
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      if (registry.started) {
        void scheduled.start();
        sweepLeftovers();
      }
    }),
  );
  if (view.visible || settings.needListAtStartup()) {
    void registry.ready();
  } else if (vscode.workspace.workspaceFolders?.some((folder) => folder.uri.scheme === 'file')) {
    void vscode.workspace.findFiles('**/conf/trac.ini', NOT_SEARCHED, 1).then((found) => {
      if (found.length) {
        void registry.ready();
      }
    });
  }
  const version = (context.extension.packageJSON as { version: string }).version;
  log.info(
    `Trac Backup ${version} activated in VS Code ${vscode.version} in ${Math.round(performance.now() - activationStarted)} ms` +
      (registry.started ? '' : ' (nothing to list yet: discovery waits for the view, a command or a setting)'),
  );
  return createApi(registry, statuses, registry.firstDiscovery, () => statusBar.state);
}

export function deactivate(): void {}
