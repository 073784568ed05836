import * as path from 'node:path';
import * as vscode from 'vscode';
import { TracBackupError, whyNotAnEnvironment } from '../../core';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { BackupNode, EnvironmentNode } from '../environmentTree';

/** Add Environment…, Remove from List, Refresh, Reveal. */
export function registerEnvironmentCommands(registry: EnvironmentRegistry, log: vscode.LogOutputChannel): vscode.Disposable[] {
  return [
    registerCommand('tracBackup.environment.add', log, async (folder?: vscode.Uri) => {
      const chosen = folder ?? (await pickFolder());
      if (!chosen) {
        return;
      }
      const envPath = path.resolve(chosen.fsPath);
      const reason = await whyNotAnEnvironment(envPath);
      if (reason) {
        throw new TracBackupError(
          'NOT_AN_ENVIRONMENT',
          `${envPath} is not a Trac environment: ${reason}. Choose the folder that holds VERSION and conf/trac.ini.`,
          envPath,
        );
      }
      log.info(`Adding environment ${envPath}`);
      await registry.add(envPath);
    }),
    registerCommand('tracBackup.environment.remove', log, async (target?: EnvironmentNode | vscode.Uri) => {
      const envPath = target instanceof vscode.Uri ? path.resolve(target.fsPath) : target?.path;
      if (!envPath) {
        return;
      }
      log.info(`Removing ${envPath} from the list`);
      await registry.hide(envPath);
    }),
    registerCommand('tracBackup.environments.refresh', log, () => registry.refresh()),
    registerCommand('tracBackup.environment.reveal', log, (node?: EnvironmentNode) =>
      node ? vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(node.path)) : undefined,
    ),
    registerCommand('tracBackup.backup.reveal', log, (node?: BackupNode) =>
      node ? vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(node.path)) : undefined,
    ),
    registerCommand('tracBackup.showLog', log, () => log.show()),
  ];
}

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Add Environment',
    title: 'Choose a Trac environment folder (it holds VERSION and conf/trac.ini)',
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0];
}
