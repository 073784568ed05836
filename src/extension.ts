import * as vscode from 'vscode';
import { TracBackupApi, createApi } from './api';
import { registerBackupCommand } from './ui/commands/backupCommand';
import { registerEnvironmentCommands } from './ui/commands/environmentCommands';
import { EnvironmentRegistry } from './ui/environmentRegistry';
import { EnvironmentTreeProvider, VIEW_ID } from './ui/environmentTree';

export function activate(context: vscode.ExtensionContext): TracBackupApi {
  const log = vscode.window.createOutputChannel('Trac Backup', { log: true });
  const registry = new EnvironmentRegistry(context.workspaceState, log);
  const tree = new EnvironmentTreeProvider(registry);
  const view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: tree, showCollapseAll: true });
  context.subscriptions.push(log, registry, tree, view, ...registerEnvironmentCommands(registry, log), registerBackupCommand(registry, log));

  log.info(`Trac Backup ${context.extension.packageJSON.version} activated in VS Code ${vscode.version}`);
  const ready = registry.refresh();
  return createApi(registry, ready);
}

export function deactivate(): void {}
