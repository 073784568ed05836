import * as vscode from 'vscode';
import { TracBackupApi, createApi } from './api';
import { registerArchiveCommands } from './ui/commands/archiveCommands';
import { registerBackupCommand } from './ui/commands/backupCommand';
import { registerDeleteCommand } from './ui/commands/deleteCommand';
import { registerRestoreCommand } from './ui/commands/restoreCommand';
import { registerVerifyCommand } from './ui/commands/verifyCommand';
import { registerEnvironmentCommands } from './ui/commands/environmentCommands';
import { EnvironmentRegistry } from './ui/environmentRegistry';
import { EnvironmentTreeProvider, VIEW_ID } from './ui/environmentTree';
import { VerifyStatusStore } from './ui/verifyStatus';

export function activate(context: vscode.ExtensionContext): TracBackupApi {
  const log = vscode.window.createOutputChannel('Trac Backup', { log: true });
  const registry = new EnvironmentRegistry(context.workspaceState, log);
  const statuses = new VerifyStatusStore(context.globalState);
  const tree = new EnvironmentTreeProvider(registry, statuses);
  const view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: tree, showCollapseAll: true, canSelectMany: true });
  context.subscriptions.push(
    log,
    registry,
    tree,
    view,
    ...registerEnvironmentCommands(registry, log),
    registerBackupCommand(registry, statuses, log),
    registerRestoreCommand(registry, log),
    registerVerifyCommand(registry, statuses, log),
    registerDeleteCommand(registry, log),
    ...registerArchiveCommands(registry, log),
  );

  log.info(`Trac Backup ${context.extension.packageJSON.version} activated in VS Code ${vscode.version}`);
  const ready = registry.refresh();
  return createApi(registry, statuses, ready);
}

export function deactivate(): void {}
